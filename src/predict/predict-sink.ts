/**
 * Turns a stream of faces (one image, or one tracked face of a video frame) into output rows.
 * Faces wait in a small batch; the CNN runs once per face and member; CNN models write their
 * rows right away, CNN-RNN models keep each sequence's per-frame CNN features (never its pixels)
 * until the sequence ends, then run the GRU heads over the seed's windows.
 */
import type { RgbFace } from '../models/seed/index.js';
import { toRow, type PredictionRow, type RowContext } from './rows.js';
import type { AffectRunner } from '../models/affect/affect-runner.js';
import type { FrameCache } from '../models/seed/frame-cache.js';

interface PendingFace {
  readonly ctx: RowContext;
  /** Sequence key: the track id of a video face, 0 for an image directory. */
  readonly seq: number;
  readonly face: RgbFace;
}

interface Sequence {
  readonly ctx: RowContext[];
  readonly cache: FrameCache[];
}

export class PredictSink {
  private pending: PendingFace[] = [];
  private readonly sequences = new Map<number, Sequence>();
  faces = 0;

  constructor(
    private readonly runner: AffectRunner,
    private readonly writer: { write(row: PredictionRow): void },
    private readonly batch: number,
  ) {}

  private get members(): readonly { name: string; role: string }[] {
    return this.runner.memberInfo;
  }

  async add(seq: number, ctx: RowContext, face: RgbFace): Promise<void> {
    this.pending.push({ ctx, seq, face });
    this.faces++;
    if (this.pending.length >= this.batch) await this.flush();
  }

  /** Runs the CNN on the waiting faces. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const caches = await this.runner.runCnn(batch.map((p) => p.face));
    if (this.runner.kind === 'cnn') {
      this.runner.decideCnn(caches).forEach((f, i) => {
        const p = batch[i];
        if (p !== undefined) this.writer.write(toRow(p.ctx, f, this.members));
      });
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
    if (this.runner.kind === 'cnn') return;
    await this.flush();
    const s = this.sequences.get(seq);
    if (s === undefined) return;
    this.sequences.delete(seq);
    (await this.runner.decideSequence(s.cache, this.batch)).forEach((f, i) => {
      const ctx = s.ctx[i];
      if (ctx !== undefined) this.writer.write(toRow(ctx, f, this.members));
    });
  }

  /** End of input: everything still open is finished. */
  async finish(): Promise<void> {
    await this.flush();
    for (const seq of [...this.sequences.keys()].sort((a, b) => a - b)) await this.endSequence(seq);
  }
}
