/**
 * The one way into a model directory, for the daemon, `daemon predict`, the benches and
 * distillation alike: the manifest is read once (by the affect service, wherever it runs), the
 * thread and worker rules live here, and so does the one unwrapping of load errors — a broken
 * directory gets the same error code on the caller's thread and in a worker.
 *
 * Heavy work (CNN batches, GRU window batches) runs where the model is placed; decisions on CNN
 * logits and the window plan run on the caller's thread with the same functions for every
 * placement, so results do not depend on how many workers ran them.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ErrorCodes, ModelLoadError, type ErrorCode } from '../../core/errors.js';
import { selectBackend, type BackendPreference } from '../backend.js';
import { readModelJsonText } from '../io/read-model-file.js';
import { isPackagedManifestJson } from '../packaged/manifest.js';
import { decidePlacement, loaderEngine, placementAsLoaded } from '../placement/decide-placement.js';
import { sessionProviders, type DevicePreference, type HostCapabilities, type Placement } from '../placement/placement.js';
import { probeHost } from '../placement/probe-host.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import type { Int8Calibration } from '../onnx/int8-calibration.js';
import type { HostHealth, ModelHost } from '../runtime/model-host.js';
import { HostPool } from '../runtime/host-pool.js';
import { openHost } from '../runtime/open-host.js';
import { WorkerHost } from '../runtime/worker-host.js';
import { decideCachedFrame } from '../seed/ensemble.js';
import { runSeedWindows } from '../seed/run-seed-windows.js';
import type { AffectRunner } from './affect-runner.js';
import { affectService, type AffectApi, type AffectInfo } from './affect-service.js';

/** The caller's thread, or that many worker threads sharing the batches (their own cores). */
export type ModelPlacement = 'thread' | { readonly workers: number };

export interface OpenAffectModelOptions {
  readonly placement: ModelPlacement;
  /** TF.js backend (preprocessing, and members that run on TF.js). */
  readonly backend: BackendPreference;
  /** Inference engine of the seed members (packaged classifiers always run on TF.js). */
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session; 0 or absent: {@link sessionThreads}' rule. */
  readonly threads?: number;
  /**
   * Keep a core out of the sessions' share for decoding and detection (default true: a live
   * camera must be decoded on time). `daemon predict` passes false: its decoding waits for the
   * model anyway, and all cores for the sessions measured faster there (docs/predict.md).
   */
  readonly reserveCore?: boolean;
  /** Per-member outputs in the decisions (`daemon predict --members`). */
  readonly includeMembers?: boolean;
  /** Only this member of the directory, by manifest name (benches compare members one by one). */
  readonly member?: string;
  /** Calibration faces for `engine: onnx-int8`. */
  readonly calibration?: Int8Calibration;
  /** A worker-placed model's host changed state (crashed, restarted, closed). */
  readonly onHostState?: (health: HostHealth) => void;
  /** Where the model runs (default auto: a usable GPU, else the CPU). */
  readonly device?: DevicePreference;
  /** The host's capabilities the placement is decided on (default: probed on this thread). */
  readonly capabilities?: HostCapabilities;
}

/** An open model directory; its owner closes it (also through `await using`). */
export interface AffectModel extends AffectRunner, AsyncDisposable {
  /** TF.js backend in use. */
  readonly backend: string;
  /** `onnx`, `tfjs`, or `hybrid` when members differ (per member in `memberEngines`). */
  readonly engine: string;
  /** Intra-op threads per ONNX Runtime session. */
  readonly threads: number;
  /** Model workers (0: the caller's thread). */
  readonly workers: number;
  /** Engine, execution provider, device and why: decided once, as loaded. */
  readonly placement: Placement;
  /** Batches that may run at once (one per worker, 1 on the caller's thread). */
  readonly concurrency: number;
  /** Tensors alive in the workers' engines (0 on the caller's thread: those are in its own count). */
  tensors(): Promise<number>;
  health(): HostHealth;
  /**
   * Ends the first worker's thread; its host restarts it (drills, tests). `between-calls` lets it
   * finish its current call; `mid-call` terminates it during one (TF.js only: ONNX Runtime's
   * native run would abort the process). A no-op on the caller's thread.
   */
  killWorker(how?: 'between-calls' | 'mid-call'): Promise<void>;
  close(): Promise<void>;
}

/** Model workers when the user did not say: one per two cores (decoding and detection need the rest). */
export function defaultModelWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * Intra-op threads per session when the user did not say: the cores (but one, kept for decoding
 * and face detection, with `reserveCore`), shared equally by the hosts; at least one.
 */
export function sessionThreads(threads: number | undefined, hosts: number, reserveCore = true, cores = availableParallelism()): number {
  return threads !== undefined && threads > 0 ? threads : Math.max(1, Math.floor((cores - (reserveCore ? 1 : 0)) / Math.max(1, hosts)));
}

const CODES = new Set<string>(Object.values(ErrorCodes));
const isErrorCode = (c: unknown): c is ErrorCode => typeof c === 'string' && CODES.has(c);

/** The load error the user sees: a worker's own code and words, as if the model had loaded here. */
function loadError(dir: string, err: unknown): ModelLoadError {
  const inner = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (err instanceof ModelLoadError && err.code === ErrorCodes.MODEL_LOAD && isErrorCode(inner?.code) && typeof inner.message === 'string') {
    return new ModelLoadError(inner.code, inner.message, { cause: err });
  }
  if (err instanceof ModelLoadError) return err;
  return new ModelLoadError(ErrorCodes.MODEL_LOAD, `cannot load the model directory ${dir}: ${(err as Error).message}`, { cause: err });
}

export async function openAffectModel(dir: string, o: OpenAffectModelOptions): Promise<AffectModel> {
  const workers = o.placement === 'thread' ? 0 : o.placement.workers;
  if (o.placement !== 'thread' && (!Number.isInteger(workers) || workers < 1)) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const threads = sessionThreads(o.threads, Math.max(1, workers), o.reserveCore ?? true);
  const caps = o.capabilities ?? (await probeHost(await selectBackend(o.backend)));
  const req = { model: 'affect model', engine: o.engine, device: o.device ?? 'auto', threads, engines: await modelEngines(dir) };
  const decided = decidePlacement(req, caps);
  let host: ModelHost<AffectInfo, AffectApi>;
  try {
    host = await openHost(
      affectService,
      {
        dir,
        backend: o.backend,
        engine: loaderEngine(req, decided),
        threads,
        providers: sessionProviders(decided),
        includeMembers: o.includeMembers === true,
        ...(o.member !== undefined ? { member: o.member } : {}),
        ...(o.calibration !== undefined ? { calibration: o.calibration } : {}),
      },
      { worker: workers > 0, workers: Math.max(1, workers), base: import.meta.url, script: './affect-worker', ...(o.onHostState ? { onState: o.onHostState } : {}) },
    );
  } catch (err) {
    throw loadError(dir, err);
  }
  const placement = placementAsLoaded(decided, { engine: host.info.engine, backend: host.info.backend, fallback: host.info.fallback });
  return modelOn(host, { workers, threads, includeMembers: o.includeMembers === true, placement });
}

/** The engines a directory's models can run on: a packaged classifier has no ONNX export. */
export async function modelEngines(dir: string): Promise<readonly ('onnx' | 'tfjs')[]> {
  try {
    return isPackagedManifestJson(JSON.parse(await readModelJsonText(path.join(dir, 'manifest.json')))) ? ['tfjs'] : ['onnx', 'tfjs'];
  } catch {
    // Unreadable or not JSON: the service's loader reports it with its usual error.
    return ['onnx', 'tfjs'];
  }
}

function modelOn(
  host: ModelHost<AffectInfo, AffectApi>,
  o: { readonly workers: number; readonly threads: number; readonly includeMembers: boolean; readonly placement: Placement },
): AffectModel {
  const info = host.info;
  const { thresholds, seqLen } = info;
  const kind = info.manifest.kind;
  const concurrency = Math.max(1, o.workers);
  const runWindows: AffectRunner['runWindows'] = async (windows) => {
    if (kind !== 'cnn-rnn') throw new RangeError('runWindows() needs a cnn-rnn model');
    return windows.length === 0 ? [] : host.call('gru', windows);
  };
  const close = (): Promise<void> => host.close();
  return {
    manifest: info.manifest,
    kind,
    seqLen,
    hidden: info.hidden,
    thresholds,
    memberInfo: info.memberInfo,
    memberEngines: info.members,
    fallback: info.fallback,
    crop: info.crop,
    cropSize: info.cropSize,
    backend: info.backend,
    engine: info.engine,
    threads: o.threads,
    workers: o.workers,
    placement: o.placement,
    concurrency,
    runCnn: async (faces) => (faces.length === 0 ? [] : host.call('cnn', faces)),
    decideCnn: (frames) => frames.map((f) => decideCachedFrame(f, { thresholds, includeMembers: o.includeMembers })),
    runWindows,
    decideSequence: async (frames, windowBatch, windows) => {
      if (kind !== 'cnn-rnn') throw new RangeError('decideSequence() needs a cnn-rnn model');
      return runSeedWindows(frames, seqLen, windowBatch, runWindows, concurrency, windows);
    },
    tensors: () => host.tensors(),
    health: () => host.health(),
    killWorker: async (how = 'between-calls') => {
      const first = host instanceof HostPool ? host.members()[0] : host;
      if (!(first instanceof WorkerHost)) return;
      await (how === 'mid-call' ? first.terminate({ midCall: true }) : first.kill());
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
