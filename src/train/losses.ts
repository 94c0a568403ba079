/**
 * The seed's losses (spec §3.2 teacher, §3.3 students), PyTorch semantics, as differentiable tf
 * ops. VA logits are [B, 40]: valence bins 0–19, arousal bins 20–39.
 */
import type { Scalar } from '../models/tf.js';
import { tf, type Tensor1D, type Tensor2D } from '../models/tf.js';
import { VA_BINS, VA_CENTRES } from '../models/seed/constants.js';
import type { Task } from './data/types.js';

export interface TeacherWeights {
  readonly EXPR: number;
  readonly AU: number;
  readonly V: number;
  readonly A: number;
  readonly ccc: number;
}

/** λ_EXPR = 1, λ_AU = 8, λ_V = λ_A = 1, λ_ccc = 1. */
export const SEED_TEACHER_WEIGHTS: TeacherWeights = { EXPR: 1, AU: 8, V: 1, A: 1, ccc: 1 };
export const SEED_LAMBDA_TEACHER = 0.4;
export const SEED_TEMPERATURE = 1.5;

/** Labels of one task batch. */
export type TaskLabels =
  | { readonly task: 'EXPR'; readonly y: Tensor1D } // int32 class 0..6
  | { readonly task: 'AU'; readonly y: Tensor2D } // float 0/1 [B, 8]
  | { readonly task: 'VA'; readonly y: Tensor2D }; // float [B, 2] = [valence, arousal]

/**
 * Bin of a VA value: edges linspace(−1, 1, 21) computed as numpy does (k·0.1 − 1 in float64);
 * index = (edges ≤ y) − 1, with y = 1 (index 20) clipped to 19.
 */
export function vaBin(y: number): number {
  let count = 0;
  for (let k = 0; k <= VA_BINS; k++) if (k * (2 / VA_BINS) + -1 <= y) count++;
  return Math.min(VA_BINS - 1, Math.max(0, count - 1));
}

/** Mean cross-entropy of logits [B, C] against integer classes [B]. */
export function crossEntropy(logits: Tensor2D, classes: Tensor1D): Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(classes, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as Scalar;
  });
}

/** BCEWithLogits, mean over every element; targets may be soft. */
export function bceWithLogits(logits: Tensor2D, targets: Tensor2D): Scalar {
  return tf.tidy(() => {
    // max(z, 0) − z·y + log(1 + e^{−|z|})
    const z = logits;
    return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as Scalar;
  });
}

/** Expected value Σ softmax(z)·c with c = linspace(−1, 1, 20): [B, 20] → [B]. */
export function vaExpectation(logits20: Tensor2D): Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(tf.softmax(logits20), tf.tensor1d(VA_CENTRES as number[])), 1));
}

/** 1 − CCC over the batch, with the unbiased std (`torch.std`) as the seed's loss uses. */
export function cccLoss(pred: Tensor1D, target: Tensor1D): Scalar {
  return tf.tidy(() => {
    const n = pred.shape[0];
    const mx = tf.mean(pred);
    const my = tf.mean(target);
    const vx = tf.sub(pred, mx);
    const vy = tf.sub(target, my);
    const sxx = tf.sum(tf.square(vx));
    const syy = tf.sum(tf.square(vy));
    const rho = tf.div(tf.sum(tf.mul(vx, vy)), tf.mul(tf.sqrt(sxx), tf.sqrt(syy)));
    const sx = tf.sqrt(tf.div(sxx, n - 1));
    const sy = tf.sqrt(tf.div(syy, n - 1));
    const ccc = tf.div(tf.mul(tf.mul(tf.mul(rho, 2), sx), sy), tf.add(tf.add(tf.square(sx), tf.square(sy)), tf.square(tf.sub(mx, my))));
    return tf.sub(1, ccc) as Scalar;
  });
}

function half(va: Tensor2D, which: 0 | 1): Tensor2D {
  return tf.slice(va, [0, which * VA_BINS], [-1, VA_BINS]);
}

function column(y: Tensor2D, i: number): Tensor1D {
  return tf.reshape(tf.slice(y, [0, i], [-1, 1]), [-1]);
}

/** Bin indices of a VA column (computed on the host: labels carry no gradient). */
function bins(y: Tensor1D): Tensor1D {
  return tf.tensor1d(Array.from(y.dataSync(), vaBin), 'int32');
}

/** CE₂₀(z, bin(y)) + λ_ccc·(1 − CCC(ŷ, y)) of one VA dimension. */
export function vaDimLoss(logits40: Tensor2D, y: Tensor2D, dim: 0 | 1, lambdaCcc: number): Scalar {
  return tf.tidy(() => {
    const z = half(logits40, dim);
    const target = column(y, dim);
    return tf.add(crossEntropy(z, bins(target)), tf.mul(cccLoss(vaExpectation(z), target), lambdaCcc)) as Scalar;
  });
}

/** The teacher's loss of one task batch (its own head only), with the λ weights of §3.2. */
export function teacherTaskLoss(logits: Tensor2D, labels: TaskLabels, w: TeacherWeights = SEED_TEACHER_WEIGHTS): Scalar {
  return tf.tidy(() => {
    switch (labels.task) {
      case 'EXPR':
        return tf.mul(crossEntropy(logits, labels.y), w.EXPR) as Scalar;
      case 'AU':
        return tf.mul(bceWithLogits(logits, labels.y), w.AU) as Scalar;
      case 'VA':
        return tf.add(tf.mul(vaDimLoss(logits, labels.y, 0, w.ccc), w.V), tf.mul(vaDimLoss(logits, labels.y, 1, w.ccc), w.A)) as Scalar;
    }
  });
}

/** KL(softmax(t/T) ‖ softmax(s/T)) with reduction 'batchmean' (no T² factor). */
export function klBatchmean(student: Tensor2D, teacher: Tensor2D, temperature: number): Scalar {
  return tf.tidy(() => {
    const logq = tf.logSoftmax(tf.div(student, temperature));
    const logp = tf.logSoftmax(tf.div(teacher, temperature));
    return tf.div(tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq))), student.shape[0]) as Scalar;
  });
}

export interface Logits3 {
  readonly EXPR: Tensor2D;
  readonly AU: Tensor2D;
  readonly VA: Tensor2D;
}

export interface StudentLossOptions {
  readonly lambdaTeacher: number;
  readonly temperature: number;
  readonly lambdaCcc: number;
}

export const SEED_STUDENT_OPTIONS: StudentLossOptions = { lambdaTeacher: SEED_LAMBDA_TEACHER, temperature: SEED_TEMPERATURE, lambdaCcc: 1 };

/**
 * Σ_k L_k of one task batch (spec §3.3): every head k ∈ {EXPR, AU, V, A} is distilled; the
 * batch's own head(s) mix in the ground truth, λ_T·D + (1 − λ_T)·G. The caller divides the sum
 * over the three task batches by 3.
 */
export function studentTaskLoss(student: Logits3, teacher: Logits3, labels: TaskLabels, o: StudentLossOptions = SEED_STUDENT_OPTIONS): Scalar {
  return tf.tidy(() => {
    const mix = (own: boolean, d: Scalar, g: () => Scalar): Scalar => (own ? (tf.add(tf.mul(d, o.lambdaTeacher), tf.mul(g(), 1 - o.lambdaTeacher)) as Scalar) : d);
    const task: Task = labels.task;
    const dExpr = klBatchmean(student.EXPR, teacher.EXPR, o.temperature);
    const dAu = bceWithLogits(student.AU, tf.sigmoid(teacher.AU));
    const dV = klBatchmean(half(student.VA, 0), half(teacher.VA, 0), o.temperature);
    const dA = klBatchmean(half(student.VA, 1), half(teacher.VA, 1), o.temperature);
    const terms = [
      mix(task === 'EXPR', dExpr, () => crossEntropy(student.EXPR, labels.y as Tensor1D)),
      mix(task === 'AU', dAu, () => bceWithLogits(student.AU, labels.y as Tensor2D)),
      mix(task === 'VA', dV, () => vaDimLoss(student.VA, labels.y as Tensor2D, 0, o.lambdaCcc)),
      mix(task === 'VA', dA, () => vaDimLoss(student.VA, labels.y as Tensor2D, 1, o.lambdaCcc)),
    ];
    return tf.addN(terms) as Scalar;
  });
}
