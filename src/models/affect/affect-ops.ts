import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { ErrorCodes, InferenceError, ModelLoadError } from '../../core/errors.js';
import { packageRoot } from '../../paths.js';
import type { BackendPreference } from '../backend.js';
import type { FaceCropSpec } from '../packaged/manifest.js';
import type { EnsembleFrame, RgbFace } from '../seed/index.js';
import type { FrameCache } from '../seed/seed-runner.js';
import { loadAffectRunner, type AffectManifest } from './affect-runner.js';
import { runWindows } from './run-windows.js';
import type { WorkerReply, WorkerRequest } from './affect-worker.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Where the models run: the daemon's thread, or a worker thread of their own. */
export interface AffectOps {
  readonly manifest: AffectManifest;
  readonly hidden: number;
  /** How faces are cut for this model (null size: the daemon's alignment size). */
  readonly crop: FaceCropSpec;
  readonly cropSize: number | null;
  runCnn(faces: readonly RgbFace[]): Promise<FrameCache[]>;
  runWindows(windows: readonly (readonly FrameCache[])[]): Promise<EnsembleFrame[][]>;
  /** Tensors alive in a worker's own engine (absent in-process: the daemon's count has them). */
  tensors?(): Promise<number>;
  close(): Promise<void>;
}

export async function inProcessOps(dir: string): Promise<AffectOps> {
  const { runner, seed } = await loadAffectRunner(dir, { includeMembers: false });
  return {
    manifest: runner.manifest,
    hidden: runner.hidden,
    crop: runner.crop,
    cropSize: runner.cropSize,
    runCnn: async (faces) => runner.runCnn(faces),
    runWindows: async (windows) => {
      if (!seed) throw new RangeError('this model has no sequence heads');
      return runWindows(seed, windows);
    },
    close: async () => runner.dispose(),
  };
}

/** The compiled worker (dist/): tests run the main thread from src/ but the worker from dist/. */
export const AFFECT_WORKER_SCRIPT = path.join(packageRoot, 'dist', 'models', 'affect', 'affect-worker.js');

export async function workerOps(dir: string, backend: BackendPreference): Promise<AffectOps> {
  const worker = new Worker(AFFECT_WORKER_SCRIPT, { workerData: { dir, backend } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let exited = false;
  const ready = await new Promise<Extract<WorkerReply, { op: 'ready' }>>((resolve, reject) => {
    worker.once('error', (err) => reject(new ModelLoadError(ErrorCodes.MODEL_LOAD, `affect worker failed: ${err.message}`, { cause: err })));
    worker.once('message', (msg: WorkerReply) => {
      if ('op' in msg && msg.op === 'ready') resolve(msg);
      else if ('op' in msg && msg.op === 'failed') reject(new ModelLoadError(msg.code as typeof ErrorCodes.MODEL_LOAD, msg.message));
      else reject(new ModelLoadError(ErrorCodes.MODEL_LOAD, 'affect worker sent an unexpected first message'));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.on('message', (msg: WorkerReply) => {
    if (!('id' in msg)) return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new InferenceError(ErrorCodes.INFERENCE, `affect inference failed: ${msg.message}`));
  });
  const failAll = (why: string): void => {
    exited = true;
    for (const p of pending.values()) p.reject(new InferenceError(ErrorCodes.INFERENCE, why));
    pending.clear();
  };
  worker.on('error', (err) => failAll(`affect worker crashed: ${err.message}`));
  worker.on('exit', (code) => failAll(`affect worker exited (${code})`));
  const call = <R>(req: WithoutId<WorkerRequest>): Promise<R> => {
    if (exited) return Promise.reject(new InferenceError(ErrorCodes.INFERENCE, 'affect worker is not running'));
    const id = nextId++;
    return new Promise<R>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  };
  return {
    manifest: ready.manifest as AffectManifest,
    hidden: ready.hidden,
    crop: ready.crop as FaceCropSpec,
    cropSize: ready.cropSize,
    runCnn: (faces) => call<FrameCache[]>({ op: 'cnn', faces }),
    runWindows: (windows) => call<EnsembleFrame[][]>({ op: 'gru', windows }),
    tensors: () => call<number>({ op: 'tensors' }),
    close: async () => {
      if (!exited) await worker.terminate();
    },
  };
}
