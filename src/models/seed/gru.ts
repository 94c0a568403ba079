/**
 * PyTorch-semantics bidirectional GRU (one layer, batch_first) and the seed's GRU head
 * (spec §2.4). Written from tf ops because TF.js's GRUCell only implements resetAfter=false,
 * while PyTorch applies the reset gate after the recurrent matmul:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h,  h₀ = 0.
 * Kernels are stored transposed ([in, 3H] and [H, 3H]) with columns in PyTorch gate order r|z|n.
 */
import { tf, type Tensor1D, type Tensor2D, type Tensor3D } from '../tf.js';
import type { TaskName } from './constants.js';
import { weight } from './conv-bn.js';
import type { WeightMap } from './types.js';

export interface GruDirectionWeights {
  readonly kernelIh: Tensor2D;
  readonly kernelHh: Tensor2D;
  readonly biasIh: Tensor1D;
  readonly biasHh: Tensor1D;
}

export interface BiGruWeights {
  readonly forward: GruDirectionWeights;
  readonly backward: GruDirectionWeights;
}

export function gruWeightsFrom(w: WeightMap, scope: string): BiGruWeights {
  const dir = (d: 'forward' | 'backward'): GruDirectionWeights => ({
    kernelIh: weight<Tensor2D>(w, `${scope}/${d}/kernel_ih`),
    kernelHh: weight<Tensor2D>(w, `${scope}/${d}/kernel_hh`),
    biasIh: weight<Tensor1D>(w, `${scope}/${d}/bias_ih`),
    biasHh: weight<Tensor1D>(w, `${scope}/${d}/bias_hh`),
  });
  return { forward: dir('forward'), backward: dir('backward') };
}

/** One direction over [B, T, F]; the backward direction walks t = T−1 … 0 and writes outputs back in place. */
function runDirection(x: Tensor3D, w: GruDirectionWeights, reverse: boolean): Tensor3D {
  const [b, t, f] = x.shape;
  const hidden = w.kernelHh.shape[0];
  // Input projections for every timestep in one matmul: [B·T, F] × [F, 3H].
  const xProj = tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [b * t, f]), b: w.kernelIh, bias: w.biasIh }), [b, t, 3 * hidden]);
  const steps = tf.unstack(xProj, 1) as Tensor2D[];
  const outs: Tensor2D[] = new Array<Tensor2D>(t);
  let h: Tensor2D = tf.zeros([b, hidden]);
  for (let i = 0; i < t; i++) {
    const ti = reverse ? t - 1 - i : i;
    const gx = steps[ti];
    if (gx === undefined) throw new Error('unreachable: timestep out of range');
    const gh = tf.fused.matMul({ a: h, b: w.kernelHh, bias: w.biasHh });
    const [xRz, xN] = tf.split(gx, [2 * hidden, hidden], 1) as [Tensor2D, Tensor2D];
    const [hRz, hN] = tf.split(gh, [2 * hidden, hidden], 1) as [Tensor2D, Tensor2D];
    const [r, z] = tf.split(tf.sigmoid(tf.add(xRz, hRz)), 2, 1) as [Tensor2D, Tensor2D];
    const n = tf.tanh(tf.add(xN, tf.mul(r, hN)));
    // (1 − z)·n + z·h  ==  n + z·(h − n)
    h = tf.add(n, tf.mul(z, tf.sub(h, n)));
    outs[ti] = h;
  }
  return tf.stack(outs, 1) as Tensor3D;
}

/** [B, T, F] → [B, T, 2H], outputs concatenated [forward | backward]. */
export function bidirectionalGru(x: Tensor3D, w: BiGruWeights): Tensor3D {
  return tf.tidy(() => tf.concat([runDirection(x, w.forward, false), runDirection(x, w.backward, true)], 2));
}

/** GRU head of one task: BiGRU → ReLU → Linear(2H → n). [B, T, hidden] → [B, T, n]. */
export function gruHeadForward(w: WeightMap, task: TaskName, features: Tensor3D): Tensor3D {
  return tf.tidy(() => {
    const [b, t] = features.shape;
    const y = tf.relu(bidirectionalGru(features, gruWeightsFrom(w, `gru/${task}/gru`)));
    const logits = tf.fused.matMul({
      a: tf.reshape(y, [b * t, y.shape[2]]),
      b: weight<Tensor2D>(w, `gru/${task}/fc_1/kernel`),
      bias: weight<Tensor1D>(w, `gru/${task}/fc_1/bias`),
    });
    return tf.reshape(logits, [b, t, logits.shape[1] ?? 0]) as Tensor3D;
  });
}
