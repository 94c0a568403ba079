/**
 * Forward passes of a frozen model (a distillation teacher, or a snapshot being validated)
 * through the inference code: BN folded, eval mode, no tape.
 */
import { tf, type Tensor2D, type Tensor3D, type Tensor4D } from '../../models/tf.js';
import { disposeCnnOutput, type SeedModel } from '../../models/seed/model.js';
import type { Logits3 } from '../losses.js';

/** Logits [N, n] per task for N = B·T faces; with `seqLen` the GRU heads run over [B, T]. */
export function frozenLogits(model: SeedModel, x: Tensor4D, seqLen?: number): Logits3 {
  const out = model.cnnFeatures(x);
  try {
    if (seqLen === undefined) return { EXPR: tf.clone(out.logits.EXPR), AU: tf.clone(out.logits.AU), VA: tf.clone(out.logits.VA) };
    const n = x.shape[0];
    const b = n / seqLen;
    return tf.tidy(() => {
      const f = (t: Tensor2D): Tensor3D => tf.reshape(t, [b, seqLen, t.shape[1]]);
      const seq = model.gruHeads({ EXPR: f(out.features.EXPR), AU: f(out.features.AU), VA: f(out.features.VA) });
      const flat = (t: Tensor3D): Tensor2D => tf.reshape(t, [n, t.shape[2]]);
      return { EXPR: flat(seq.EXPR), AU: flat(seq.AU), VA: flat(seq.VA) };
    });
  } finally {
    disposeCnnOutput(out);
  }
}

export function disposeLogits(l: Logits3): void {
  tf.dispose([l.EXPR, l.AU, l.VA]);
}
