/**
 * Ensembling per-member outputs as the seed's `test.py` / `run_pretrained_model.py` do (spec §6.3):
 * AU = mean of the sigmoid probabilities (then thresholds), EXPR = mean of the softmaxes → argmax,
 * VA = mean of the per-member expectations Σ softmax(z)·c with c = linspace(−1, 1, 20).
 * (The api averaged raw logits instead; that is not reproduced.)
 */
import { VA_BINS, VA_CENTRES } from '../../models/seed/constants.js';

/** One member's raw logits for N faces, flat row-major: AU N×8, EXPR N×7, VA N×40. */
export interface MemberLogits {
  readonly au?: ArrayLike<number>;
  readonly expr?: ArrayLike<number>;
  readonly va?: ArrayLike<number>;
}

export interface EnsembleOutputs {
  /** N×8 mean sigmoid probabilities. */
  readonly auProb?: Float64Array;
  /** N×7 mean softmax. */
  readonly exprProb?: Float64Array;
  /** N argmax of exprProb (first maximum). */
  readonly exprPred?: Int32Array;
  /** N×2 mean of the per-member expectations [valence, arousal]. */
  readonly va?: Float64Array;
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Softmax of each row of width `w` (max-subtracted). */
export function softmaxRows(z: ArrayLike<number>, w: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let r = 0; r < z.length; r += w) {
    let m = -Infinity;
    for (let k = 0; k < w; k++) m = Math.max(m, z[r + k]!);
    let s = 0;
    for (let k = 0; k < w; k++) s += out[r + k] = Math.exp(z[r + k]! - m);
    for (let k = 0; k < w; k++) out[r + k]! /= s;
  }
  return out;
}

/** VA logits (N×40) → expectations [v, a] (N×2). */
export function vaExpectation(z: ArrayLike<number>): Float64Array {
  const n = z.length / (2 * VA_BINS);
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < 2; h++) {
      const base = i * 2 * VA_BINS + h * VA_BINS;
      let m = -Infinity;
      for (let k = 0; k < VA_BINS; k++) m = Math.max(m, z[base + k]!);
      let s = 0;
      let e = 0;
      for (let k = 0; k < VA_BINS; k++) {
        const p = Math.exp(z[base + k]! - m);
        s += p;
        e += p * VA_CENTRES[k]!;
      }
      out[i * 2 + h] = e / s;
    }
  }
  return out;
}

function meanInto(acc: Float64Array | undefined, x: Float64Array): Float64Array {
  if (acc === undefined) return Float64Array.from(x);
  if (acc.length !== x.length) throw new RangeError(`ensemble members disagree in output size (${acc.length} vs ${x.length})`);
  for (let i = 0; i < x.length; i++) acc[i]! += x[i]!;
  return acc;
}

export function ensembleOutputs(members: readonly MemberLogits[]): EnsembleOutputs {
  if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
  let au: Float64Array | undefined;
  let expr: Float64Array | undefined;
  let va: Float64Array | undefined;
  for (const m of members) {
    if (m.au !== undefined) au = meanInto(au, Float64Array.from(m.au, sigmoid));
    if (m.expr !== undefined) expr = meanInto(expr, softmaxRows(m.expr, 7));
    if (m.va !== undefined) va = meanInto(va, vaExpectation(m.va));
  }
  const k = members.length;
  const scale = (a: Float64Array | undefined): Float64Array | undefined => {
    if (a === undefined) return undefined;
    for (let i = 0; i < a.length; i++) a[i]! /= k;
    return a;
  };
  const out: { auProb?: Float64Array; exprProb?: Float64Array; exprPred?: Int32Array; va?: Float64Array } = {};
  const auS = scale(au);
  const exS = scale(expr);
  const vaS = scale(va);
  if (auS) out.auProb = auS;
  if (vaS) out.va = vaS;
  if (exS) {
    out.exprProb = exS;
    const n = exS.length / 7;
    const pred = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 7; c++) if (exS[i * 7 + c]! > exS[i * 7 + best]!) best = c;
      pred[i] = best;
    }
    out.exprPred = pred;
  }
  return out;
}
