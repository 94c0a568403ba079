import { selectBackend, type BackendPreference } from '../backend.js';
import { EnsembleRunner } from '../engine/ensemble-runner.js';
import type { EnginePreference } from '../engine/member-engine.js';
import type { ModelService } from '../runtime/model-service.js';
import { loadModelDir, type EnsembleFrame, type ModelManifest, type RgbFace } from '../seed/index.js';
import type { FrameCache } from '../seed/frame-cache.js';

export interface AffectInit {
  readonly dir: string;
  readonly backend: BackendPreference;
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session (0: one per core). */
  readonly threads: number;
}

export interface AffectInfo {
  readonly manifest: ModelManifest;
  readonly hidden: number;
  /** TF.js backend (preprocessing, and members that run on TF.js). */
  readonly backend: string;
  /** `onnx`, `tfjs`, or `hybrid`; per member in `members`. */
  readonly engine: string;
  readonly members: readonly string[];
  /** Why `auto` fell back to TF.js, when it did. */
  readonly fallback?: string;
}

export type AffectApi = {
  /** Backbone + CNN heads of every member, one cache per face. */
  cnn(faces: readonly RgbFace[]): Promise<FrameCache[]>;
  /** GRU heads over windows of cached frames, one decision per window position. */
  gru(windows: readonly (readonly FrameCache[])[]): Promise<EnsembleFrame[][]>;
};

/** A seed model directory as a hostable service (the daemon's thread or `affect-worker`). */
export const affectService: ModelService<AffectInit, AffectInfo, AffectApi> = {
  name: 'affect',
  async open(init) {
    const backend = (await selectBackend(init.backend)).name;
    const ensemble = await loadModelDir(init.dir);
    let runner: EnsembleRunner;
    try {
      runner = await EnsembleRunner.open(ensemble, { engine: init.engine, threads: init.threads });
    } catch (err) {
      ensemble.dispose();
      throw err;
    }
    return {
      info: {
        manifest: ensemble.manifest,
        hidden: runner.hidden,
        backend,
        engine: runner.engine,
        members: runner.members.map((m) => m.engine),
        ...(runner.fallback !== undefined ? { fallback: runner.fallback } : {}),
      },
      api: {
        cnn: (faces) => runner.runCnn(faces),
        gru: (windows) => runner.runWindows(windows),
      },
      close: async () => {
        await runner.dispose();
        ensemble.dispose();
      },
    };
  },
};
