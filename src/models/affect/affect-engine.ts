import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { InferenceQueue, type InferenceQueueOptions } from '../../pipeline/affect/inference-queue.js';
import type { BackendPreference } from '../backend.js';
import type { AlignedFace, Alignment } from '../../core/records.js';
import { faceCropAlignment } from '../packaged/face-crop.js';
import { combineMembers, decodeMemberFrame, type EnsembleFrame, type RgbFace } from '../seed/index.js';
import { providesAuVa, type AffectManifest } from './affect-runner.js';
import type { FrameCache } from '../seed/seed-runner.js';
import { inProcessOps, workerOps, type AffectOps } from './affect-ops.js';

export type { FrameCache } from '../seed/seed-runner.js';

export interface AffectEngineOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  /** Run the models in a worker thread (their own core) instead of the daemon's thread. */
  readonly worker: boolean;
  readonly backend: BackendPreference;
}

export interface AffectEngineHooks {
  readonly onDrop?: (streamId: string, stage: 'cnn' | 'gru') => void;
  readonly onBatch?: (stage: 'cnn' | 'gru', size: number, seconds: number) => void;
  readonly onQueueDepth?: (stage: 'cnn' | 'gru', depth: number) => void;
}

/**
 * A loaded affect model behind two shared, bounded inference queues: per-frame CNN passes
 * (one per face, all members) and GRU windows. Every stream and track feeds the same queues, so
 * requests batch across them; one batch runs at a time.
 */
export class AffectEngine {
  private readonly cnnQueue: InferenceQueue<RgbFace, FrameCache>;
  private readonly gruQueue: InferenceQueue<readonly FrameCache[], EnsembleFrame[]>;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly ops: AffectOps,
    opts: AffectEngineOptions,
    hooks: AffectEngineHooks,
  ) {
    const queue = (stage: 'cnn' | 'gru'): InferenceQueueOptions => ({
      maxBatch: opts.maxBatch,
      maxWaitMs: opts.maxWaitMs,
      maxQueue: opts.maxQueue,
      onDrop: (streamId, reason) => {
        if (reason === 'overflow') hooks.onDrop?.(streamId, stage);
      },
      onBatch: (size, seconds) => hooks.onBatch?.(stage, size, seconds),
      onQueueDepth: (depth) => hooks.onQueueDepth?.(stage, depth),
    });
    this.cnnQueue = new InferenceQueue((faces) => ops.runCnn(faces), queue('cnn'));
    this.gruQueue = new InferenceQueue((windows) => ops.runWindows(windows), queue('gru'));
  }

  static async load(dir: string, opts: AffectEngineOptions, hooks: AffectEngineHooks = {}): Promise<AffectEngine> {
    try {
      const ops = opts.worker ? await workerOps(dir, opts.backend) : await inProcessOps(dir);
      return new AffectEngine(ops, opts, hooks);
    } catch (err) {
      if (err instanceof ModelLoadError) throw err;
      throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `cannot load the model directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  get manifest(): AffectManifest {
    return this.ops.manifest;
  }

  /** Whether events carry AU and VA (false for an expressions-only model). */
  get providesAuVa(): boolean {
    return providesAuVa(this.manifest);
  }

  /** Where this model's crop of a face lies (the daemon's alignment for seed models). */
  cropOf(face: AlignedFace): Alignment {
    return faceCropAlignment(face, this.ops.crop, this.ops.cropSize ?? face.alignment.size);
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
    const m = this.manifest;
    return providesAuVa(m) ? (m.seqLen ?? 1) : 1;
  }

  get thresholds(): readonly number[] {
    const m = this.manifest;
    return providesAuVa(m) ? m.tasks.AU.thresholds : [];
  }

  /** Runs one frame (and one window) so kernels are compiled before live traffic. */
  async warmUp(): Promise<void> {
    const side = this.ops.cropSize ?? 112;
    const face: RgbFace = { data: new Uint8Array(side * side * 3), width: side, height: side };
    const [cache] = await this.ops.runCnn([face]);
    if (cache && this.kind === 'cnn-rnn') await this.ops.runWindows([Array.from({ length: this.seqLen }, () => cache)]);
  }

  cnn(face: RgbFace, streamId: string): Promise<FrameCache> {
    return this.cnnQueue.submit(face, streamId);
  }

  window(frames: readonly FrameCache[], streamId: string): Promise<EnsembleFrame[]> {
    return this.gruQueue.submit(frames, streamId);
  }

  /** Per-frame decision of a CNN (not CNN-RNN) model: the seed's ensemble rule on the CNN heads. */
  decideCnn(cache: FrameCache): EnsembleFrame {
    return combineMembers(
      cache.map((m) => decodeMemberFrame(m.logits)),
      { thresholds: this.thresholds },
    );
  }

  /** Tensors of a worker-hosted model (0 in-process: those are in the daemon's own count). */
  async tensors(): Promise<number> {
    return (await this.ops.tensors?.()) ?? 0;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.cnnQueue.close();
      this.gruQueue.close();
      await this.ops.close();
    })();
    return this.closed;
  }
}
