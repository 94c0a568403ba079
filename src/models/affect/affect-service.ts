import { isMainThread } from 'node:worker_threads';
import { selectBackend, type BackendPreference } from '../backend.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import type { FaceCropSpec } from '../packaged/manifest.js';
import type { ModelService } from '../runtime/model-service.js';
import type { EnsembleFrame, RgbFace } from '../seed/index.js';
import type { FrameCache } from '../seed/frame-cache.js';
import type { Int8Calibration } from '../onnx/int8-calibration.js';
import { loadAffectRunner, runnerEngine, type AffectManifest } from './affect-runner.js';

export interface AffectInit {
  readonly dir: string;
  readonly backend: BackendPreference;
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session (0: one per core). */
  readonly threads: number;
  /** ONNX Runtime execution providers, from the placement. */
  readonly providers?: readonly string[];
  /** Per-member outputs in the GRU decisions (`daemon predict --members`; default false). */
  readonly includeMembers?: boolean;
  /** Only this member (by manifest name). */
  readonly member?: string;
  /** Calibration faces for `engine: onnx-int8` (cloned into each worker). */
  readonly calibration?: Int8Calibration;
}

export interface AffectInfo {
  readonly manifest: AffectManifest;
  readonly hidden: number;
  /** How faces are cut for this model (null size: the daemon's alignment size). */
  readonly crop: FaceCropSpec;
  readonly cropSize: number | null;
  /** TF.js backend (preprocessing, and members that run on TF.js). */
  readonly backend: string;
  /** `onnx`, `tfjs`, or `hybrid`; per member in `members`. */
  readonly engine: string;
  readonly members: readonly string[];
  /** CNN-RNN window length (1 for a per-frame model) and AU thresholds (empty without AU), as the runner uses them. */
  readonly seqLen: number;
  readonly thresholds: readonly number[];
  /** Name and role per member, in ensemble order. */
  readonly memberInfo: readonly { readonly name: string; readonly role: string }[];
  /** Why `auto` fell back to TF.js, when it did. */
  readonly fallback?: string;
}

export type AffectApi = {
  /** Backbone + CNN heads of every member, one cache per face. */
  cnn(faces: readonly RgbFace[]): Promise<FrameCache[]>;
  /** GRU heads over windows of cached frames, one decision per window position. */
  gru(windows: readonly (readonly FrameCache[])[]): Promise<EnsembleFrame[][]>;
};

/**
 * The TF.js backend this thread initialises. In a worker whose members run on ONNX Runtime
 * (engine onnx, onnx-int8, or auto on the CPU), TF.js only holds the weights the graphs are
 * exported from: the WASM backend does, and the worker never loads libtensorflow (tfjs-node fails
 * from the second worker thread on, tensorflow/tfjs#8388), as in the face-models worker. A member
 * that `auto` falls back to TF.js then runs on WASM too. The daemon's own thread keeps the
 * configured backend: it is that thread's global TF.js backend, shared with everything else there.
 */
export function affectThreadBackend(init: Pick<AffectInit, 'backend' | 'engine'>, inWorker = !isMainThread): BackendPreference {
  return inWorker && init.engine !== 'tfjs' ? 'wasm' : init.backend;
}

/**
 * A model directory as a hostable service (the daemon's thread or `affect-worker`): seed members
 * on ONNX Runtime or TF.js per `engine`, packaged expression members on TF.js.
 */
export const affectService: ModelService<AffectInit, AffectInfo, AffectApi> = {
  name: 'affect',
  async open(init) {
    const backend = (await selectBackend(affectThreadBackend(init))).name;
    const runner = await loadAffectRunner(init.dir, { engine: init.engine, threads: init.threads, ...(init.providers !== undefined ? { providers: init.providers } : {}), includeMembers: init.includeMembers === true, ...(init.member !== undefined ? { member: init.member } : {}), ...(init.calibration !== undefined ? { calibration: init.calibration } : {}) });
    return {
      info: {
        manifest: runner.manifest,
        hidden: runner.hidden,
        crop: runner.crop,
        cropSize: runner.cropSize,
        backend,
        engine: runnerEngine(runner),
        members: runner.memberEngines,
        memberInfo: runner.memberInfo.map((m) => ({ name: m.name, role: m.role })),
        seqLen: runner.seqLen,
        thresholds: [...runner.thresholds],
        ...(runner.fallback !== undefined ? { fallback: runner.fallback } : {}),
      },
      api: {
        cnn: (faces) => runner.runCnn(faces),
        gru: (windows) => runner.runWindows(windows),
      },
      close: () => runner.close(),
    };
  },
};
