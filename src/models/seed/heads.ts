/**
 * Per-task CNN heads (spec §2.2): BN1d → Linear(→hidden) → ReLU → BN1d → Linear(→n).
 * The feature a CNN-RNN feeds its GRU is the output of the second BN (`bn1`), so both it and
 * the logits are returned.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D } from '../tf.js';
import { BN_EPSILON, TASKS, type TaskName } from './constants.js';
import { weight, type BnMode } from './conv-bn.js';
import type { WeightMap } from './types.js';

export interface HeadOutput {
  /** [B, hidden] output of bn1. */
  readonly feature: Tensor2D;
  /** [B, n]. */
  readonly logits: Tensor2D;
}

function bn1d(x: Tensor2D, w: WeightMap, scope: string, bnMode: BnMode): Tensor2D {
  const stats = bnMode === 'batch' ? (tf.moments(x, 0) as { mean: Tensor1D; variance: Tensor1D }) : undefined;
  return tf.batchNorm(
    x,
    stats?.mean ?? weight<Tensor1D>(w, `${scope}/moving_mean`),
    stats?.variance ?? weight<Tensor1D>(w, `${scope}/moving_variance`),
    weight<Tensor1D>(w, `${scope}/beta`),
    weight<Tensor1D>(w, `${scope}/gamma`),
    BN_EPSILON,
  );
}

function linear(x: Tensor2D, w: WeightMap, scope: string, activation: 'relu' | 'linear' = 'linear'): Tensor2D {
  return tf.fused.matMul({ a: x, b: weight<Tensor2D>(w, `${scope}/kernel`), bias: weight<Tensor1D>(w, `${scope}/bias`), activation }) as Tensor2D;
}

/**
 * Reference path on the unfolded weights (`heads/<task>/{bn0,fc_0,bn1,fc_1}`); `bnMode` 'batch'
 * uses the batch statistics, as in training.
 */
export function headForward(w: WeightMap, task: TaskName, f: Tensor2D, bnMode: BnMode = 'running'): HeadOutput {
  const s = `heads/${task}`;
  const [feature, logits] = tf.tidy(() => {
    const hidden = linear(bn1d(f, w, `${s}/bn0`, bnMode), w, `${s}/fc_0`, 'relu');
    const feat = bn1d(hidden, w, `${s}/bn1`, bnMode);
    return [feat, linear(feat, w, `${s}/fc_1`)];
  });
  return { feature, logits };
}

/**
 * Folds bn0 into fc_0 (K' = diag(s)·K, b' = b + t·K with s = γ/√(σ²+ε), t = β − μ·s) and turns
 * bn1 into a scale/shift pair. Returns new tensors (`heads/<task>/fc_0/{kernel,bias}`,
 * `heads/<task>/bn1/{scale,shift}`) the caller owns.
 */
export function foldHeads(w: WeightMap): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const task of TASKS) {
    const s = `heads/${task}`;
    const [k, b, scale1, shift1] = tf.tidy(() => {
      const affine = (scope: string): [Tensor1D, Tensor1D] => {
        const sc = tf.div(weight<Tensor1D>(w, `${scope}/gamma`), tf.sqrt(tf.add(weight<Tensor1D>(w, `${scope}/moving_variance`), BN_EPSILON))) as Tensor1D;
        return [sc, tf.sub(weight<Tensor1D>(w, `${scope}/beta`), tf.mul(weight<Tensor1D>(w, `${scope}/moving_mean`), sc)) as Tensor1D];
      };
      const [s0, t0] = affine(`${s}/bn0`);
      const kernel = weight<Tensor2D>(w, `${s}/fc_0/kernel`);
      const k2 = tf.mul(kernel, tf.expandDims(s0, 1));
      const b2 = tf.add(weight<Tensor1D>(w, `${s}/fc_0/bias`), tf.squeeze(tf.matMul(tf.expandDims(t0, 0), kernel), [0]));
      const [s1, t1] = affine(`${s}/bn1`);
      return [k2, b2, s1, t1];
    });
    out.set(`${s}/fc_0/kernel`, k);
    out.set(`${s}/fc_0/bias`, b);
    out.set(`${s}/bn1/scale`, scale1);
    out.set(`${s}/bn1/shift`, shift1);
  }
  return out;
}

/** Fast path: `folded` from `foldHeads`, `w` still supplies fc_1. */
export function foldedHeadForward(folded: WeightMap, w: WeightMap, task: TaskName, f: Tensor2D): HeadOutput {
  const s = `heads/${task}`;
  const [feature, logits] = tf.tidy(() => {
    const hidden = linear(f, folded, `${s}/fc_0`, 'relu');
    const feat = tf.add(tf.mul(hidden, weight<Tensor1D>(folded, `${s}/bn1/scale`)), weight<Tensor1D>(folded, `${s}/bn1/shift`)) as Tensor2D;
    return [feat, linear(feat, w, `${s}/fc_1`)];
  });
  return { feature, logits };
}
