/**
 * The figures of `daemon bench expressions`, as pure functions over per-track sequences of
 * expression probabilities: agreement between two models (top-1 and mean KL), and temporal
 * stability (label changes per second of video).
 */
import { argmax } from '../../models/seed/decode.js';

/** One tracked face's outputs of one model: probabilities (seed EXPR order) at stream times. */
export interface TrackSeries {
  readonly key: string;
  readonly pts: readonly number[];
  readonly probs: readonly ArrayLike<number>[];
}

/** KL(p ‖ q) in nats, with q floored at 1e-7 so a confident disagreement stays finite. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) kl += pi * Math.log(pi / Math.max(q[i]!, 1e-7));
  }
  return Math.max(0, kl);
}

export interface Agreement {
  readonly faces: number;
  /** Share of faces whose top-1 labels agree. */
  readonly top1: number;
  /** Mean KL(reference ‖ other) over faces, nats. */
  readonly meanKl: number;
}

/** Compares two models face by face (same tracks, same frames). */
export function agreement(reference: readonly TrackSeries[], other: readonly TrackSeries[]): Agreement {
  const byKey = new Map(other.map((t) => [t.key, t]));
  let faces = 0;
  let same = 0;
  let kl = 0;
  for (const r of reference) {
    const o = byKey.get(r.key);
    if (!o || o.probs.length !== r.probs.length) throw new RangeError(`track ${r.key}: the two models saw different frames`);
    r.probs.forEach((p, i) => {
      const q = o.probs[i]!;
      faces++;
      if (argmax(p) === argmax(q)) same++;
      kl += klDivergence(p, q);
    });
  }
  return { faces, top1: faces > 0 ? same / faces : NaN, meanKl: faces > 0 ? kl / faces : NaN };
}

export interface Stability {
  /** Seconds of tracked face video (sum over tracks of last pts − first pts). */
  readonly seconds: number;
  readonly changes: number;
  /** Top-1 label changes per second of tracked face. */
  readonly changesPerSecond: number;
}

export function stability(tracks: readonly TrackSeries[]): Stability {
  let seconds = 0;
  let changes = 0;
  for (const t of tracks) {
    if (t.pts.length < 2) continue;
    seconds += t.pts[t.pts.length - 1]! - t.pts[0]!;
    for (let i = 1; i < t.probs.length; i++) if (argmax(t.probs[i]!) !== argmax(t.probs[i - 1]!)) changes++;
  }
  return { seconds, changes, changesPerSecond: seconds > 0 ? changes / seconds : NaN };
}
