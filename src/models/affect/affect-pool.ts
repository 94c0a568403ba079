/**
 * A model directory on a pool of model hosts (worker threads), behind the same `AffectRunner`
 * interface `daemon predict` uses in-thread. Only the heavy work crosses to the workers — CNN
 * batches and GRU window batches — while decisions on CNN logits and the window plan stay on the
 * caller's thread, computed by the same functions as in-thread, so rows do not depend on how
 * many hosts ran them.
 */
import { ErrorCodes, ModelLoadError, type ErrorCode } from '../../core/errors.js';
import type { BackendPreference } from '../backend.js';
import type { EnginePreference } from '../engine/member-engine.js';
import type { Int8Calibration } from '../onnx/int8-calibration.js';
import type { ModelHost } from '../runtime/model-host.js';
import { openHost } from '../runtime/open-host.js';
import { decideCachedFrame } from '../seed/index.js';
import { runSeedWindows } from '../seed/run-seed-windows.js';
import type { AffectRunner } from './affect-runner.js';
import { affectService, type AffectApi, type AffectInfo } from './affect-service.js';

export interface AffectPoolOptions {
  /** Model worker threads (≥ 1). */
  readonly workers: number;
  readonly backend: BackendPreference;
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session in each worker. */
  readonly threads: number;
  readonly includeMembers: boolean;
  /** Calibration faces for `engine: onnx-int8`. */
  readonly calibration?: Int8Calibration;
}

/** An `AffectRunner` whose calls may overlap: up to `concurrency` batches run at once, one per worker. */
export interface PooledAffectRunner extends AffectRunner {
  readonly concurrency: number;
  /** Tensors alive in the workers' engines. */
  tensors(): Promise<number>;
}

const CODES = new Set<string>(Object.values(ErrorCodes));
const isErrorCode = (c: unknown): c is ErrorCode => typeof c === 'string' && CODES.has(c);

/** Opens `workers` hosts of the model; the caller owns the runner (dispose ends the workers). */
export async function openAffectPool(dir: string, o: AffectPoolOptions): Promise<PooledAffectRunner> {
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`workers must be a positive integer, got ${o.workers}`);
  let host: ModelHost<AffectInfo, AffectApi>;
  try {
    host = await openHost(
      affectService,
      { dir, backend: o.backend, engine: o.engine, threads: o.threads, includeMembers: o.includeMembers, ...(o.calibration !== undefined ? { calibration: o.calibration } : {}) },
      { worker: true, workers: o.workers, base: import.meta.url, script: './affect-worker' },
    );
  } catch (err) {
    // The worker's own error (code and words) is what the user must see: a missing manifest is
    // VA_ERR_MODEL_FILES whether the model loads on this thread or in a worker.
    const inner = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (err instanceof ModelLoadError && isErrorCode(inner?.code) && typeof inner.message === 'string') throw new ModelLoadError(inner.code, inner.message, { cause: err });
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `cannot load the model directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const info = host.info;
  const m = info.manifest;
  const { thresholds, seqLen } = info;
  const kind = m.kind;
  const runWindows: AffectRunner['runWindows'] = async (windows) => {
    if (kind !== 'cnn-rnn') throw new RangeError('runWindows() needs a cnn-rnn model');
    return windows.length === 0 ? [] : host.call('gru', windows);
  };
  return {
    manifest: m,
    kind,
    seqLen,
    hidden: info.hidden,
    thresholds,
    memberInfo: info.memberInfo,
    memberEngines: info.members,
    fallback: info.fallback,
    crop: info.crop,
    cropSize: info.cropSize,
    concurrency: o.workers,
    runCnn: async (faces) => (faces.length === 0 ? [] : host.call('cnn', faces)),
    // The runners' own rule (decideCachedFrame), on the caller's thread.
    decideCnn: (frames) => frames.map((f) => decideCachedFrame(f, { thresholds, includeMembers: o.includeMembers })),
    runWindows,
    decideSequence: async (frames, windowBatch, windows) => {
      if (kind !== 'cnn-rnn') throw new RangeError('decideSequence() needs a cnn-rnn model');
      return runSeedWindows(frames, seqLen, windowBatch, runWindows, o.workers, windows);
    },
    tensors: () => host.tensors(),
    dispose: () => host.close(),
  };
}
