/**
 * Turns a stream of faces (one image, or one tracked face of a video frame) into output rows.
 * Faces wait in a small batch; the CNN runs once per face and member; CNN models write their
 * rows right away, CNN-RNN models keep each sequence's per-frame CNN features (never its pixels)
 * until the sequence ends, then run the GRU heads over the seed's windows.
 *
 * With a pool of model hosts (`concurrency` > 1) up to that many CNN batches are in flight at
 * once; their results are taken in the order the batches were cut, so rows, sequences and
 * batches are exactly those of one host running them one after another.
 */
import type { RgbFace } from '../models/seed/index.js';
import { toRow, type PredictionRow, type RowContext } from './rows.js';
import type { AffectRunner } from '../models/affect/affect-runner.js';
import type { FrameCache } from '../models/seed/frame-cache.js';
import type { SeedWindowMode } from '../models/seed/seed-windows.js';
import type { EnsembleFrame } from '../models/seed/index.js';
import type { TrackId } from '../core/ids.js';
import { scoresOf } from '../pipeline/affect/affect-events.js';
import { baselineInput } from '../pipeline/affect/baseline-affect.js';
import { TrackBaselines, type BaselineSettings } from '../pipeline/affect/baselines.js';

interface PendingFace {
  readonly ctx: RowContext;
  /** Sequence key: the track id of a video face, 0 for an image directory. */
  readonly seq: number;
  readonly face: RgbFace;
}

interface InFlight {
  readonly batch: readonly PendingFace[];
  readonly caches: Promise<FrameCache[]>;
}

interface Sequence {
  readonly ctx: RowContext[];
  readonly cache: FrameCache[];
}

export class PredictSink {
  private pending: PendingFace[] = [];
  private readonly sequences = new Map<number, Sequence>();
  /** CNN batches dispatched and not yet taken, oldest first. */
  private readonly inFlight: InFlight[] = [];
  faces = 0;

  constructor(
    private readonly runner: AffectRunner,
    private readonly writer: { write(row: PredictionRow): void },
    private readonly batch: number,
    /** CNN batches allowed in flight at once (the runner's hosts); 1 = one after another. */
    private readonly concurrency = 1,
    private readonly windows: SeedWindowMode = 'complete',
    /** Per-track baselines of a video's rows, as the daemon keeps them (config `baseline`). */
    baseline?: BaselineSettings,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.baselines = baseline?.enabled === true ? new TrackBaselines(baseline) : undefined;
  }

  private readonly baselines: TrackBaselines | undefined;
  /** CNN batches dispatched and taken so far, and ended tracks (CNN models) whose baselines go once batch `due` is taken. */
  private dispatched = 0;
  private taken = 0;
  private readonly ended: { readonly seq: number; readonly due: number }[] = [];

  private forgetEnded(): void {
    while (this.ended.length > 0 && this.ended[0]!.due <= this.taken) this.baselines?.forget(this.ended.shift()!.seq as TrackId);
  }

  /** A row, with its track's baseline when kept: rows reach here in frame order per track, as live decisions do. */
  private write(ctx: RowContext, f: EnsembleFrame): void {
    const b = this.baselines && ctx.trackId !== undefined && ctx.pts !== undefined ? this.baselines.observe(ctx.trackId as TrackId, ctx.pts, baselineInput(scoresOf(f))) : undefined;
    this.writer.write(toRow(ctx, f, this.members, b));
  }

  private get members(): readonly { name: string; role: string }[] {
    return this.runner.memberInfo;
  }

  async add(seq: number, ctx: RowContext, face: RgbFace): Promise<void> {
    this.pending.push({ ctx, seq, face });
    this.faces++;
    if (this.pending.length >= this.batch) await this.flush();
  }

  /** Sends the waiting faces to the CNN; waits only when `concurrency` batches are already out. */
  async flush(): Promise<void> {
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const caches = this.runner.runCnn(batch.map((p) => p.face));
      // Taken (and its failure thrown) in order later; until then a failure must not count as unhandled.
      caches.catch(() => undefined);
      this.inFlight.push({ batch, caches });
      this.dispatched++;
    }
    while (this.inFlight.length >= this.concurrency) await this.takeOldest();
  }

  /** Every dispatched batch is back and taken, in dispatch order. */
  private async drain(): Promise<void> {
    await this.flush();
    while (this.inFlight.length > 0) await this.takeOldest();
  }

  private async takeOldest(): Promise<void> {
    const next = this.inFlight.shift();
    if (next === undefined) return;
    const { batch } = next;
    const caches = await next.caches;
    this.taken++;
    if (this.runner.kind === 'cnn') {
      this.runner.decideCnn(caches).forEach((f, i) => {
        const p = batch[i];
        if (p !== undefined) this.write(p.ctx, f);
      });
      this.forgetEnded();
      return;
    }
    batch.forEach((p, i) => {
      const c = caches[i];
      if (c === undefined) return;
      let s = this.sequences.get(p.seq);
      if (s === undefined) this.sequences.set(p.seq, (s = { ctx: [], cache: [] }));
      s.ctx.push(p.ctx);
      s.cache.push(c);
    });
  }

  /** A sequence (track) is complete: run its windows and write its rows in frame order. */
  async endSequence(seq: number): Promise<void> {
    if (this.runner.kind === 'cnn') {
      // Its last face is waiting or in flight: its baseline goes once that batch has been taken.
      if (this.baselines) this.ended.push({ seq, due: this.dispatched + (this.pending.length > 0 ? 1 : 0) });
      this.forgetEnded();
      return;
    }
    await this.drain();
    const s = this.sequences.get(seq);
    if (s === undefined) return;
    this.sequences.delete(seq);
    const decided = await this.runner.decideSequence(s.cache, this.batch, this.windows);
    // The decisions are those of the sequence's last frames (all of them but in `authors` mode).
    const offset = s.ctx.length - decided.length;
    decided.forEach((f, i) => {
      const ctx = s.ctx[offset + i];
      if (ctx !== undefined) this.write(ctx, f);
    });
    this.baselines?.forget(seq as TrackId);
  }

  /** End of input: everything still open is finished. */
  async finish(): Promise<void> {
    await this.drain();
    for (const seq of [...this.sequences.keys()].sort((a, b) => a - b)) await this.endSequence(seq);
  }
}
