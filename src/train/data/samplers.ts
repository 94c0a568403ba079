/**
 * The seed's balancing samplers (spec §4.2, `MC/torchsampler`, CNN with `--force_balance`): each
 * draws N = dataset length indices per epoch, with replacement, from per-sample weights. Draws are
 * a pure function of (seed, epoch), so resuming needs no sampler state.
 * - EXPR: w_i = 1 / count(class of i).
 * - VA: w_i = 1 / count(cell of i) on a 20×20 (v, a) histogram spanning the data min–max per axis.
 * - AU: ML-ROS weights (ml-ros.ts).
 * - shuffle: a permutation per epoch (no balancing).
 */
import { Rng, drawWeighted } from './rng.js';
import type { LabelledFace, Sampler } from './types.js';

/** Stream ids so different samplers with one seed do not share draws. */
const STREAM = { shuffle: 1, expr: 2, va: 3, au: 4 } as const;

export function weightedSampler(name: string, weights: Float64Array, seed: number, stream: number, stats: Record<string, unknown>): Sampler {
  const n = weights.length;
  if (n === 0) throw new RangeError(`${name}: no training samples`);
  return {
    name,
    stats,
    epoch: (epoch: number) => drawWeighted(weights, n, Rng.of(seed, stream, epoch)),
  };
}

/** A fresh permutation per epoch (Fisher–Yates), as a shuffling DataLoader. */
export function shuffleSampler(n: number, seed: number): Sampler {
  if (n === 0) throw new RangeError('shuffle: no training samples');
  return {
    name: 'shuffle',
    stats: { n },
    epoch: (epoch: number) => {
      const rng = Rng.of(seed, STREAM.shuffle, epoch);
      const out = Uint32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = out[i]!;
        out[i] = out[j]!;
        out[j] = t;
      }
      return out;
    },
  };
}

/** Class shares of EXPR labels (7 classes). */
export function classShares(faces: readonly LabelledFace[], weights?: ArrayLike<number>): number[] {
  const s = new Array<number>(7).fill(0);
  let total = 0;
  faces.forEach((f, i) => {
    if (f.expr === undefined) throw new RangeError(`sample ${i} (${f.image}) has no EXPR label`);
    const w = weights?.[i] ?? 1;
    s[f.expr]! += w;
    total += w;
  });
  return s.map((x) => x / total);
}

/** Inverse class frequency: every present class gets the same expected share. */
export function exprBalancedSampler(faces: readonly LabelledFace[], seed: number): Sampler {
  const counts = new Array<number>(7).fill(0);
  faces.forEach((f, i) => {
    if (f.expr === undefined) throw new RangeError(`sample ${i} (${f.image}) has no EXPR label`);
    counts[f.expr]!++;
  });
  const weights = Float64Array.from(faces, (f) => 1 / counts[f.expr!]!);
  return weightedSampler('expr-inverse-frequency', weights, seed, STREAM.expr, {
    counts,
    sharesBefore: classShares(faces),
    sharesExpected: classShares(faces, weights),
  });
}

/** numpy.histogram2d's default edges per axis: linspace(min, max, bins + 1). */
function axisEdges(values: readonly number[], bins: number): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // numpy widens an empty range to [v − 0.5, v + 0.5].
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / bins;
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * step));
}

/** Cell = digitize − 1 (number of edges ≤ x, minus one), the top edge clipped into the last bin. */
function cellOf(x: number, edges: readonly number[]): number {
  let n = 0;
  for (const e of edges) if (e <= x) n++;
  return Math.max(0, Math.min(edges.length - 2, n - 1));
}

export interface VaCells {
  readonly cells: Uint16Array;
  readonly vEdges: readonly number[];
  readonly aEdges: readonly number[];
}

export function vaCells(faces: readonly LabelledFace[], bins = 20): VaCells {
  const v = faces.map((f, i) => {
    if (f.va === undefined) throw new RangeError(`sample ${i} (${f.image}) has no VA label`);
    return f.va[0];
  });
  const a = faces.map((f) => f.va![1]);
  const vEdges = axisEdges(v, bins);
  const aEdges = axisEdges(a, bins);
  const cells = Uint16Array.from(faces, (_, i) => cellOf(v[i]!, vEdges) * bins + cellOf(a[i]!, aEdges));
  return { cells, vEdges, aEdges };
}

/** Shares of the 20×20 cells (row = valence bin, column = arousal bin), optionally weighted. */
export function cellShares(cells: ArrayLike<number>, weights?: ArrayLike<number>, bins = 20): number[] {
  const s = new Array<number>(bins * bins).fill(0);
  let total = 0;
  for (let i = 0; i < cells.length; i++) {
    const w = weights?.[i] ?? 1;
    s[cells[i]!]! += w;
    total += w;
  }
  return s.map((x) => x / total);
}

/** Inverse frequency of the (v, a) histogram cell. */
export function vaHistogramSampler(faces: readonly LabelledFace[], seed: number, bins = 20): Sampler {
  const { cells, vEdges, aEdges } = vaCells(faces, bins);
  const counts = new Array<number>(bins * bins).fill(0);
  for (const c of cells) counts[c]!++;
  const weights = Float64Array.from(cells, (c) => 1 / counts[c]!);
  const occupied = counts.filter((c) => c > 0).length;
  return weightedSampler('va-histogram', weights, seed, STREAM.va, {
    bins,
    occupiedCells: occupied,
    valenceRange: [vEdges[0], vEdges[bins]],
    arousalRange: [aEdges[0], aEdges[bins]],
    maxCellShareBefore: Math.max(...counts) / faces.length,
    expectedCellShare: 1 / occupied,
  });
}

export { STREAM as SAMPLER_STREAMS };
