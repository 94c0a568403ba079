/**
 * The AU threshold search of the seed's `MC/val.py` (spec §6.2): per AU, sklearn's
 * precision_recall_curve and the threshold at argmin |precision − recall| (the break-even point,
 * not the F1 maximum). Fixed here: the thresholds come from the ensemble-mean probabilities they
 * are applied to; `mode: 'last-member'` reproduces the original, whose list kept only the last
 * model's thresholds.
 */

export interface PrCurve {
  readonly precision: Float64Array;
  readonly recall: Float64Array;
  readonly thresholds: Float64Array;
}

/**
 * sklearn 1.2's `precision_recall_curve(y_true, probas_pred)`: thresholds at every distinct score
 * in increasing order; precision and recall have one more entry (1, 0) at the end.
 */
export function precisionRecallCurve(gt: ArrayLike<number>, scores: ArrayLike<number>): PrCurve {
  const n = gt.length;
  if (n !== scores.length) throw new RangeError(`truth and scores differ in length (${n} vs ${scores.length})`);
  if (n === 0) throw new RangeError('precision-recall curve of no samples');
  // Descending by score; a stable sort (numpy's mergesort) keeps equal scores in input order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const tpsAt: number[] = [];
  const fpsAt: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (gt[i] === 1) tp++;
    const last = k === n - 1 || scores[order[k + 1]!]! !== scores[i]!;
    if (last) {
      tpsAt.push(tp);
      fpsAt.push(k + 1 - tp);
      thr.push(scores[i]!);
    }
  }
  const m = thr.length;
  const totalTp = tpsAt[m - 1]!;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thresholds = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const src = m - 1 - k; // reversed: thresholds increasing
    const ps = tpsAt[src]! + fpsAt[src]!;
    precision[k] = ps !== 0 ? tpsAt[src]! / ps : 0;
    recall[k] = totalTp === 0 ? 1 : tpsAt[src]! / totalTp;
    thresholds[k] = thr[src]!;
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/**
 * The break-even threshold: thresholds[argmin |P − R|] (first minimum, as numpy). An argmin at the
 * appended (1, 0) point — where the original would raise IndexError — takes the last threshold.
 */
export function breakEvenThreshold(gt: ArrayLike<number>, scores: ArrayLike<number>): number {
  const c = precisionRecallCurve(gt, scores);
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < c.precision.length; i++) {
    const d = Math.abs(c.precision[i]! - c.recall[i]!);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return c.thresholds[Math.min(best, c.thresholds.length - 1)]!;
}

export interface AuThresholdSearch {
  /** 8 thresholds; an AU without positives in the truth keeps `fallback` (the search is undefined there). */
  readonly thresholds: readonly number[];
  /** AUs that had no positive truth and kept the fallback. */
  readonly undefinedAus: readonly number[];
  readonly mode: 'ensemble-mean' | 'last-member';
}

/**
 * Thresholds for an ensemble. `memberProbs[m]` is member m's sigmoid probabilities (N×8, flat);
 * `gt` the 0/1 truth (N×8).
 */
export function searchAuThresholds(
  gt: ArrayLike<number>,
  memberProbs: readonly ArrayLike<number>[],
  o: { readonly mode?: 'ensemble-mean' | 'last-member'; readonly fallback?: number } = {},
): AuThresholdSearch {
  const mode = o.mode ?? 'ensemble-mean';
  if (memberProbs.length === 0) throw new RangeError('threshold search needs at least one member');
  for (const p of memberProbs) if (p.length !== gt.length) throw new RangeError(`member probabilities have ${p.length} values, truth ${gt.length}`);
  const n = gt.length / 8;
  if (!Number.isInteger(n) || n === 0) throw new RangeError(`AU truth length ${gt.length} is not a positive multiple of 8`);
  const probs = mode === 'last-member' ? memberProbs[memberProbs.length - 1]! : meanOf(memberProbs);
  const thresholds: number[] = [];
  const undefinedAus: number[] = [];
  for (let j = 0; j < 8; j++) {
    const g = new Float64Array(n);
    const s = new Float64Array(n);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      g[i] = gt[i * 8 + j]!;
      s[i] = probs[i * 8 + j]!;
      pos += g[i]!;
    }
    if (pos === 0) {
      undefinedAus.push(j);
      thresholds.push(o.fallback ?? 0.5);
    } else thresholds.push(breakEvenThreshold(g, s));
  }
  return { thresholds, undefinedAus, mode };
}

/** Element-wise mean of equally long arrays (summed in member order, as numpy's mean over axis 0). */
export function meanOf(arrays: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays[0]?.length ?? 0);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i]! += a[i]!;
  for (let i = 0; i < out.length; i++) out[i]! /= arrays.length;
  return out;
}
