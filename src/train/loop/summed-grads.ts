/**
 * The gradient of Σ_i scale·L_i, taken one term at a time: each term's backward pass runs (and
 * frees its activations) before the next term's forward, so only one task batch's activations
 * are alive at once — a third of what one pass over the summed loss holds, which is what lets the
 * ResNet-50 train at the seed's batch sizes inside wasm's 4 GiB. The gradient is the same up to
 * float rounding (each task batch goes through the model on its own anyway; tested).
 */
import { tf, type NamedTensorMap, type Tensor } from '../../models/tf.js';
import { disposeAbandonedTape } from '../engine/gradients.js';

export interface SummedGrads {
  /** Variable name → gradient; variables no term reaches are absent. The caller disposes them. */
  readonly grads: NamedTensorMap;
  /** Σ scale·L_i. */
  readonly loss: number;
}

/** `term(i)` builds term i's loss inside the tape (it may `tf.keep` tensors it wants to read later). */
export async function summedGrads(count: number, term: (i: number) => tf.Scalar, vars: readonly tf.Variable[], scale = 1): Promise<SummedGrads> {
  let grads: NamedTensorMap = {};
  let loss = 0;
  try {
    for (let i = 0; i < count; i++) {
      // A new tensor even at scale 1: the term's own loss may be kept by the caller.
      // Inside tidy: a term that throws leaves no tape intermediates behind.
      const r = tf.tidy(() => tf.variableGrads(() => tf.mul(term(i), scale) as tf.Scalar, vars as tf.Variable[]));
      loss += (await r.value.data())[0] ?? Number.NaN;
      r.value.dispose();
      // Variables this term does not reach (another task's head) keep what earlier terms gave them.
      const sum: NamedTensorMap = { ...grads };
      for (const [k, g] of Object.entries(r.grads)) {
        const prev = grads[k];
        sum[k] = prev === undefined ? g : tf.add(prev, g);
        if (prev !== undefined) tf.dispose([prev, g] as Tensor[]);
      }
      grads = sum;
    }
  } catch (err) {
    disposeAbandonedTape();
    tf.dispose(Object.values(grads));
    throw err;
  }
  return { grads, loss };
}
