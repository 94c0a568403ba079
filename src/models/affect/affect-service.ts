import { selectBackend, type BackendPreference } from '../backend.js';
import type { ModelService } from '../runtime/model-service.js';
import { loadModelDir, type EnsembleFrame, type ModelManifest, type RgbFace } from '../seed/index.js';
import { SeedRunner, type FrameCache } from '../seed/seed-runner.js';
import { runWindows } from './run-windows.js';

export interface AffectInit {
  readonly dir: string;
  readonly backend: BackendPreference;
}

export interface AffectInfo {
  readonly manifest: ModelManifest;
  readonly hidden: number;
  readonly backend: string;
}

export type AffectApi = {
  /** Backbone + CNN heads of every member, one cache per face. */
  cnn(faces: readonly RgbFace[]): FrameCache[];
  /** GRU heads over windows of cached frames, one decision per window position. */
  gru(windows: readonly (readonly FrameCache[])[]): EnsembleFrame[][];
};

/** A seed model directory as a hostable service (the daemon's thread or `affect-worker`). */
export const affectService: ModelService<AffectInit, AffectInfo, AffectApi> = {
  name: 'affect',
  async open(init) {
    const backend = (await selectBackend(init.backend)).name;
    const runner = new SeedRunner(await loadModelDir(init.dir), { includeMembers: false });
    return {
      info: { manifest: runner.ensemble.manifest, hidden: runner.hidden, backend },
      api: {
        cnn: (faces) => runner.runCnn(faces),
        gru: (windows) => runWindows(runner, windows),
      },
      close: () => runner.ensemble.dispose(),
    };
  },
};
