import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { SeedRunner, type FrameCache } from '../seed/seed-runner.js';
import { InferenceQueue, type InferenceQueueOptions } from '../../pipeline/affect/inference-queue.js';
import { loadModelDir, type EnsembleFrame, type LoadedEnsemble, type RgbFace } from '../seed/index.js';
import { runWindows } from './run-windows.js';

export type { FrameCache } from '../seed/seed-runner.js';

export interface AffectEngineOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
}

export interface AffectEngineHooks {
  readonly onDrop?: (streamId: string, stage: 'cnn' | 'gru') => void;
  readonly onBatch?: (stage: 'cnn' | 'gru', size: number, seconds: number) => void;
  readonly onQueueDepth?: (stage: 'cnn' | 'gru', depth: number) => void;
}

/**
 * A loaded affect model behind two shared, bounded inference queues: per-frame CNN passes
 * (one per face and member) and GRU windows. Every stream and track feeds the same queues, so
 * requests batch across them.
 */
export class AffectEngine {
  private readonly cnnQueue: InferenceQueue<RgbFace, FrameCache>;
  private readonly gruQueue: InferenceQueue<readonly FrameCache[], EnsembleFrame[]>;
  private closed = false;

  private constructor(
    readonly runner: SeedRunner,
    opts: AffectEngineOptions,
    hooks: AffectEngineHooks,
  ) {
    const queue = (stage: 'cnn' | 'gru'): InferenceQueueOptions => ({
      ...opts,
      onDrop: (streamId, reason) => {
        if (reason === 'overflow') hooks.onDrop?.(streamId, stage);
      },
      onBatch: (size, seconds) => hooks.onBatch?.(stage, size, seconds),
      onQueueDepth: (depth) => hooks.onQueueDepth?.(stage, depth),
    });
    this.cnnQueue = new InferenceQueue((faces) => runner.runCnn(faces), queue('cnn'));
    this.gruQueue = new InferenceQueue((windows) => runWindows(runner, windows), queue('gru'));
  }

  static async load(dir: string, opts: AffectEngineOptions, hooks: AffectEngineHooks = {}): Promise<AffectEngine> {
    let ensemble: LoadedEnsemble;
    try {
      ensemble = await loadModelDir(dir);
    } catch (err) {
      if (err instanceof ModelLoadError) throw err;
      throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `cannot load the model directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return new AffectEngine(new SeedRunner(ensemble, { includeMembers: false }), opts, hooks);
  }

  get id(): string {
    return this.runner.ensemble.manifest.id;
  }

  get version(): string {
    return this.runner.ensemble.manifest.version;
  }

  get kind(): 'cnn' | 'cnn-rnn' {
    return this.runner.kind;
  }

  get seqLen(): number {
    return this.runner.seqLen;
  }

  get thresholds(): readonly number[] {
    return this.runner.thresholds;
  }

  /** Runs one frame through the first member so kernels are compiled before live traffic. */
  warmUp(): void {
    const face: RgbFace = { data: new Uint8Array(112 * 112 * 3), width: 112, height: 112 };
    const [cache] = this.runner.runCnn([face]);
    if (cache && this.kind === 'cnn-rnn') runWindows(this.runner, [Array.from({ length: this.seqLen }, () => cache)]);
  }

  cnn(face: RgbFace, streamId: string): Promise<FrameCache> {
    return this.cnnQueue.submit(face, streamId);
  }

  window(frames: readonly FrameCache[], streamId: string): Promise<EnsembleFrame[]> {
    return this.gruQueue.submit(frames, streamId);
  }

  /** Per-frame decision of a CNN (not CNN-RNN) model. */
  decideCnn(cache: FrameCache): EnsembleFrame {
    return this.runner.decide(cache.map((m) => m.logits));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cnnQueue.close();
    this.gruQueue.close();
    this.runner.ensemble.dispose();
  }
}
