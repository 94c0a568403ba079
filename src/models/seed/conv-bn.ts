/**
 * Convolution + BatchNorm (+ ReLU) units shared by both backbones. Inference folds BN into the
 * conv at load time (one fused conv-bias-relu kernel per unit); the unfolded path is kept for
 * checking the fold and for training, where plain tf ops give the cpu backend its gradients.
 */
import { tf, type Tensor, type Tensor1D, type Tensor4D } from '../tf.js';
import { BN_EPSILON } from './constants.js';
import type { WeightMap } from './types.js';

export interface ConvBnOptions {
  readonly stride: number;
  /** Symmetric zero padding in pixels (PyTorch `padding=`); 0 means 'valid'. */
  readonly pad: number;
  readonly relu: boolean;
}

/** Runs conv `conv` then BN `bn` (full weight-name scopes, e.g. `backbone/conv2_1_3x3`). */
export type ConvBn = (x: Tensor4D, conv: string, bn: string, opts: ConvBnOptions) => Tensor4D;

/** 'running' = inference statistics; 'batch' = training-mode statistics of the current batch. */
export type BnMode = 'running' | 'batch';

export function weight<T extends Tensor>(w: WeightMap, name: string): T {
  const t = w.get(name);
  if (t === undefined) throw new Error(`weight ${name} is missing`);
  return t as T;
}

function padArg(pad: number): 'valid' | number {
  return pad === 0 ? 'valid' : pad;
}

export function unfoldedConvBn(w: WeightMap, bnMode: BnMode = 'running'): ConvBn {
  return (x, conv, bn, { stride, pad, relu }) => {
    const y = tf.conv2d(x, weight<Tensor4D>(w, `${conv}/kernel`), stride, padArg(pad));
    const gamma = weight<Tensor1D>(w, `${bn}/gamma`);
    const beta = weight<Tensor1D>(w, `${bn}/beta`);
    let normed: Tensor4D;
    if (bnMode === 'batch') {
      const { mean, variance } = tf.moments(y, [0, 1, 2]) as { mean: Tensor1D; variance: Tensor1D };
      normed = tf.batchNorm(y, mean, variance, beta, gamma, BN_EPSILON);
    } else {
      normed = tf.batchNorm(y, weight<Tensor1D>(w, `${bn}/moving_mean`), weight<Tensor1D>(w, `${bn}/moving_variance`), beta, gamma, BN_EPSILON);
    }
    return relu ? tf.relu(normed) : normed;
  };
}

/** Expects the output of `foldBatchNorms`: `${conv}/kernel` and `${conv}/bias`. */
export function foldedConvBn(folded: WeightMap): ConvBn {
  return (x, conv, _bn, { stride, pad, relu }) =>
    tf.fused.conv2d({
      x,
      filter: weight<Tensor4D>(folded, `${conv}/kernel`),
      bias: weight<Tensor1D>(folded, `${conv}/bias`),
      strides: stride,
      pad: padArg(pad),
      activation: relu ? 'relu' : 'linear',
    });
}

/**
 * BN(conv(x, K)) = conv(x, K·s) + (β − μ·s) with s = γ/√(σ²+ε), per output channel (the last
 * kernel axis). Returns new tensors the caller owns.
 */
export function foldBatchNorms(w: WeightMap, pairs: readonly (readonly [conv: string, bn: string])[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [conv, bn] of pairs) {
    const [kernel, bias] = tf.tidy(() => {
      const scale = tf.div(weight<Tensor1D>(w, `${bn}/gamma`), tf.sqrt(tf.add(weight<Tensor1D>(w, `${bn}/moving_variance`), BN_EPSILON)));
      const k = tf.mul(weight<Tensor4D>(w, `${conv}/kernel`), scale);
      const b = tf.sub(weight<Tensor1D>(w, `${bn}/beta`), tf.mul(weight<Tensor1D>(w, `${bn}/moving_mean`), scale));
      return [k, b];
    });
    out.set(`${conv}/kernel`, kernel);
    out.set(`${conv}/bias`, bias);
  }
  return out;
}

/**
 * PyTorch MaxPool2d semantics (symmetric `pad`, optional `ceil_mode`) for any input size. The
 * ceil-mode window overhang is padded bottom/right with −∞ so it never wins the max.
 */
export function maxPoolTorch(x: Tensor4D, kernel: number, stride: number, pad: number, ceilMode: boolean): Tensor4D {
  const [, h, w] = x.shape;
  const extra = (size: number): number => {
    const span = size + 2 * pad - kernel;
    let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    // PyTorch drops a last window that would start inside the right padding only.
    if (ceilMode && (out - 1) * stride >= size + pad) out -= 1;
    return Math.max(0, (out - 1) * stride + kernel - (size + 2 * pad));
  };
  const eh = extra(h);
  const ew = extra(w);
  if (pad === 0 && eh === 0 && ew === 0) return tf.maxPool(x, kernel, stride, 'valid');
  return tf.tidy(() => {
    const padded = tf.pad(x, [[0, 0], [pad, pad + eh], [pad, pad + ew], [0, 0]], -Infinity);
    return tf.maxPool(padded, kernel, stride, 'valid');
  });
}
