/**
 * Decoding of one member's logits (spec §2.5), in plain TS on small arrays:
 * AU sigmoid, EXPR softmax + argmax, VA softmax expectation over linspace(−1, 1, 20).
 */
import { AU_LABELS, EXPR_LABELS, TASK_OUTPUTS, VA_BINS, VA_CENTRES } from './constants.js';
import { SeedModelError } from './errors.js';

export type Numbers = ArrayLike<number>;

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Softmax of `length` values starting at `offset` (max-subtracted, accumulated in float64). */
export function softmax(z: Numbers, offset = 0, length = z.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, z[offset + i] ?? -Infinity);
  const out = new Float64Array(length);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const e = Math.exp((z[offset + i] ?? -Infinity) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < length; i++) out[i] = (out[i] ?? 0) / sum;
  return out;
}

/** Index of the largest value; ties go to the lowest index (numpy argmax). */
export function argmax(v: Numbers): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] ?? -Infinity) > (v[best] ?? -Infinity)) best = i;
  return best;
}

/** Σ_k softmax(z)_k · c_k with c = linspace(−1, 1, 20). */
export function vaExpectation(z: Numbers, offset: number): number {
  const p = softmax(z, offset, VA_BINS);
  let v = 0;
  for (let k = 0; k < VA_BINS; k++) v += (p[k] ?? 0) * (VA_CENTRES[k] ?? 0);
  return v;
}

/** AU on iff p > threshold (strict, as in the seed). */
export function applyAuThresholds(probabilities: Numbers, thresholds: Numbers): boolean[] {
  if (thresholds.length !== probabilities.length) {
    throw new SeedModelError('VA_ERR_MODEL_INPUT', `expected ${probabilities.length} AU thresholds, got ${thresholds.length}`);
  }
  return Array.from({ length: probabilities.length }, (_, j) => (probabilities[j] ?? 0) > (thresholds[j] ?? 1));
}

/**
 * One member's per-frame outputs before any thresholding or ensembling. A member that does not
 * provide AU or VA (a packaged expression classifier) leaves those fields out.
 */
export interface MemberFrame {
  /** sigmoid(AU logits), order AU1, AU2, AU4, AU6, AU12, AU15, AU20, AU25. */
  readonly auProbabilities?: Float64Array;
  /** softmax(EXPR logits), order Neutral … Surprise. */
  readonly exprProbabilities: Float64Array;
  readonly valence?: number;
  readonly arousal?: number;
}

/**
 * Per-task logits of one frame (EXPR 7, AU 8, VA 40 values). Empty AU or VA logits mean the member
 * does not provide that task.
 */
export interface FrameLogits {
  readonly EXPR: Numbers;
  readonly AU: Numbers;
  readonly VA: Numbers;
}

export function decodeMemberFrame(logits: FrameLogits): MemberFrame {
  for (const [task, v] of Object.entries(logits) as [keyof FrameLogits, Numbers][]) {
    if (v.length !== TASK_OUTPUTS[task] && !(task !== 'EXPR' && v.length === 0)) {
      throw new SeedModelError('VA_ERR_MODEL_INPUT', `${task} logits must have ${TASK_OUTPUTS[task]} values, got ${v.length}`);
    }
  }
  return {
    ...(logits.AU.length > 0 ? { auProbabilities: Float64Array.from(logits.AU, sigmoid) } : {}),
    exprProbabilities: softmax(logits.EXPR),
    ...(logits.VA.length > 0 ? { valence: vaExpectation(logits.VA, 0), arousal: vaExpectation(logits.VA, VA_BINS) } : {}),
  };
}

/** Final per-frame decision with label names attached; `au` / `va` absent when no member provides them. */
export interface AffectFrame {
  readonly au?: { readonly probabilities: Float64Array; readonly active: readonly boolean[]; readonly labels: typeof AU_LABELS };
  readonly expr: { readonly probabilities: Float64Array; readonly index: number; readonly label: (typeof EXPR_LABELS)[number] };
  readonly va?: { readonly valence: number; readonly arousal: number };
}

export function decideFrame(
  auProbabilities: Float64Array | undefined,
  exprProbabilities: Float64Array,
  va: { readonly valence: number; readonly arousal: number } | undefined,
  thresholds: Numbers,
): AffectFrame {
  const index = argmax(exprProbabilities);
  const label = EXPR_LABELS[index];
  if (label === undefined) throw new Error('unreachable: EXPR index out of range');
  return {
    ...(auProbabilities !== undefined ? { au: { probabilities: auProbabilities, active: applyAuThresholds(auProbabilities, thresholds), labels: AU_LABELS } } : {}),
    expr: { probabilities: exprProbabilities, index, label },
    ...(va !== undefined ? { va: { valence: va.valence, arousal: va.arousal } } : {}),
  };
}
