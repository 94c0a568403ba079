import type { DevicePreference, HostCapabilities, Placement } from '../placement/placement.js';
import { InferenceQueue, type InferenceQueueOptions } from '../runtime/inference-queue.js';
import type { BackendPreference } from '../backend.js';
import type { AlignedFace, Alignment } from '../../core/records.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import { modelCropAlignment } from '../packaged/face-crop.js';
import type { HostHealth } from '../runtime/model-host.js';
import { decideCachedFrame, type EnsembleFrame, type RgbFace } from '../seed/index.js';
import type { FrameCache } from '../seed/frame-cache.js';
import type { Int8Calibration } from '../onnx/int8-calibration.js';
import { providesAuVa, type AffectManifest } from './affect-runner.js';
import { defaultModelWorkers, openAffectModel, type AffectModel } from './open-affect-model.js';

export type { FrameCache } from '../seed/frame-cache.js';

export interface QueuedAffectModelOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  /** Run the models in a worker thread (their own core) instead of the daemon's thread. */
  readonly worker: boolean;
  readonly backend: BackendPreference;
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session (0: one per core). */
  readonly threads: number;
  /** Model workers sharing the inference (with `worker`); batches run on all of them at once. */
  readonly workers?: number;
  /** Calibration faces for `engine: onnx-int8`. */
  readonly calibration?: Int8Calibration;
  /** Where the model runs (`model.device`). */
  readonly device?: DevicePreference;
  /** The host's capabilities, probed once by the daemon for every model. */
  readonly capabilities?: HostCapabilities;
}

export interface QueuedAffectModelHooks {
  readonly onDrop?: (streamId: string, stage: 'cnn' | 'gru') => void;
  readonly onBatch?: (stage: 'cnn' | 'gru', size: number, seconds: number) => void;
  readonly onQueueDepth?: (stage: 'cnn' | 'gru', depth: number) => void;
  /** The model's host changed state (a worker crashed, restarted, closed). */
  readonly onHostState?: (health: HostHealth) => void;
}

/**
 * A loaded affect model behind two shared, bounded inference queues: per-frame CNN passes
 * (one per face, all members) and GRU windows. Every stream and track feeds the same queues, so
 * requests batch across them; one batch runs at a time.
 */
export class QueuedAffectModel {
  private readonly cnnQueue: InferenceQueue<RgbFace, FrameCache>;
  private readonly gruQueue: InferenceQueue<readonly FrameCache[], EnsembleFrame[]>;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly model: AffectModel,
    opts: QueuedAffectModelOptions,
    hooks: QueuedAffectModelHooks,
  ) {
    const queue = (stage: 'cnn' | 'gru'): InferenceQueueOptions => ({
      maxBatch: opts.maxBatch,
      maxWaitMs: opts.maxWaitMs,
      maxQueue: opts.maxQueue,
      concurrency: model.concurrency,
      onDrop: (streamId, reason) => {
        if (reason === 'overflow') hooks.onDrop?.(streamId, stage);
      },
      onBatch: (size, seconds) => hooks.onBatch?.(stage, size, seconds),
      onQueueDepth: (depth) => hooks.onQueueDepth?.(stage, depth),
    });
    this.cnnQueue = new InferenceQueue((faces) => model.runCnn(faces), queue('cnn'));
    this.gruQueue = new InferenceQueue((windows) => model.runWindows(windows), queue('gru'));
  }

  static async load(dir: string, options: QueuedAffectModelOptions, hooks: QueuedAffectModelHooks = {}): Promise<QueuedAffectModel> {
    const model = await openAffectModel(dir, {
      placement: options.worker ? { workers: options.workers !== undefined && options.workers > 0 ? options.workers : defaultModelWorkers() } : 'thread',
      backend: options.backend,
      engine: options.engine,
      threads: options.threads,
      ...(options.calibration !== undefined ? { calibration: options.calibration } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
      ...(options.capabilities !== undefined ? { capabilities: options.capabilities } : {}),
      ...(hooks.onHostState ? { onHostState: hooks.onHostState } : {}),
    });
    return new QueuedAffectModel(model, options, hooks);
  }

  /** Engine, execution provider, device and why, decided once. */
  get placement(): Placement {
    return this.model.placement;
  }

  get manifest(): AffectManifest {
    return this.model.manifest;
  }

  /** Where and how the model runs: engine per member, TF.js backend, fallback reason. */
  get runtime(): { readonly engine: string; readonly members: readonly string[]; readonly backend: string; readonly fallback?: string } {
    const m = this.model;
    return { engine: m.engine, members: m.memberEngines, backend: m.backend, ...(m.fallback !== undefined ? { fallback: m.fallback } : {}) };
  }

  /** Whether events carry AU and VA (false for an expressions-only model). */
  get providesAuVa(): boolean {
    return providesAuVa(this.manifest);
  }

  /** Where this model's crop of a face lies (the daemon's alignment for seed models). */
  cropOf(face: AlignedFace): Alignment {
    return modelCropAlignment(face, this.model);
  }

  get id(): string {
    return this.manifest.id;
  }

  get version(): string {
    return this.manifest.version;
  }

  get kind(): 'cnn' | 'cnn-rnn' {
    return this.manifest.kind;
  }

  get seqLen(): number {
    return this.model.seqLen;
  }

  get thresholds(): readonly number[] {
    return this.model.thresholds;
  }

  /** Runs one frame (and one window) so kernels are compiled before live traffic. */
  async warmUp(): Promise<void> {
    const side = this.model.cropSize ?? 112;
    const face: RgbFace = { data: new Uint8Array(side * side * 3), width: side, height: side };
    const [cache] = await this.model.runCnn([face]);
    if (cache && this.kind === 'cnn-rnn') await this.model.runWindows([Array.from({ length: this.seqLen }, () => cache)]);
  }

  cnn(face: RgbFace, streamId: string): Promise<FrameCache> {
    return this.cnnQueue.submit(face, streamId);
  }

  window(frames: readonly FrameCache[], streamId: string): Promise<EnsembleFrame[]> {
    return this.gruQueue.submit(frames, streamId);
  }

  /** Per-frame decision of a CNN (not CNN-RNN) model: the seed's ensemble rule on the CNN heads. */
  decideCnn(cache: FrameCache): EnsembleFrame {
    return decideCachedFrame(cache, { thresholds: this.thresholds });
  }

  /** Tensors of a worker-hosted model (0 in-process: those are in the daemon's own count). */
  tensors(): Promise<number> {
    return this.model.tensors();
  }

  health(): HostHealth {
    return this.model.health();
  }

  /**
   * Ends a worker-hosted model's thread; the host restarts it (drills, tests). `between-calls`
   * lets it exit after its current call; `mid-call` terminates it while a batch is in flight (a
   * real death: only on TF.js, where ONNX Runtime's native run would abort the process).
   */
  killWorker(how: 'between-calls' | 'mid-call' = 'between-calls'): Promise<void> {
    return this.model.killWorker(how);
  }

  /** Model workers serving this engine (0 on the daemon's thread). */
  get workers(): number {
    return this.model.workers;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.cnnQueue.close();
      this.gruQueue.close();
      await this.model.close();
    })();
    return this.closed;
  }
}
