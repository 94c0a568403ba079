/**
 * All GRU heads of a CNN-RNN member (3 tasks × 2 directions) run as one batched recurrence:
 * the hidden states are stacked [6, B, H] and every timestep is one batched matmul plus a few
 * elementwise ops, instead of six separate loops. Same maths as gru.ts (which stays the
 * readable reference); on wasm the per-op overhead dominates these tiny matrices, so this cuts
 * a 32-frame window from ~30 ms to a few ms.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D } from '../tf.js';
import { TASKS } from './constants.js';
import { weight } from './conv-bn.js';
import type { PerTask, WeightMap } from './types.js';

/** Slot order: EXPR fwd, EXPR bwd, AU fwd, AU bwd, VA fwd, VA bwd. */
const SLOTS = TASKS.flatMap((task) => (['forward', 'backward'] as const).map((dir) => ({ task, dir })));

export interface PackedGruHeads {
  /** [6, F, 3H] */
  readonly kernelIh: Tensor3D;
  /** [6, 1, 3H] */
  readonly biasIh: Tensor3D;
  /** [6, H, 3H] */
  readonly kernelHh: Tensor3D;
  /** [6, 1, 3H] */
  readonly biasHh: Tensor3D;
  readonly hidden: number;
}

/** Stacks the per-slot GRU weights; the caller owns the result (see `disposePacked`). */
export function packGruHeads(w: WeightMap): PackedGruHeads {
  return tf.tidy(() => {
    const stack = (suffix: string, bias: boolean): Tensor3D =>
      tf.stack(
        SLOTS.map(({ task, dir }) => {
          const t = weight<Tensor>(w, `gru/${task}/gru/${dir}/${suffix}`);
          return bias ? tf.expandDims(t as Tensor1D, 0) : t;
        }),
      ) as Tensor3D;
    const kernelHh = stack('kernel_hh', false);
    return {
      kernelIh: stack('kernel_ih', false),
      biasIh: stack('bias_ih', true),
      kernelHh,
      biasHh: stack('bias_hh', true),
      hidden: kernelHh.shape[1],
    };
  });
}

export function disposePacked(p: PackedGruHeads): void {
  tf.dispose([p.kernelIh, p.biasIh, p.kernelHh, p.biasHh]);
}

/** Per task [B, T, F] → per task [B, T, n] logits (BiGRU → ReLU → fc_1). Caller owns the result. */
export function packedGruHeadsForward(p: PackedGruHeads, w: WeightMap, features: PerTask<Tensor3D>): PerTask<Tensor3D> {
  const out = tf.tidy(() => {
    const [b, t, f] = features.EXPR.shape;
    const h = p.hidden;
    // Backward slots see the sequence time-reversed, so every slot walks its steps in order.
    // Input projections of every slot and timestep in one batched matmul: [6, B·T, F] × [6, F, 3H].
    const x = tf.stack(SLOTS.map(({ task, dir }) => tf.reshape(dir === 'backward' ? tf.reverse(features[task], 1) : features[task], [b * t, f])));
    const proj = tf.reshape(tf.add(tf.matMul(x, p.kernelIh), p.biasIh), [6, b, t, 3 * h]);
    const steps = tf.unstack(proj, 2) as Tensor3D[]; // T × [6, B, 3H]
    let state: Tensor3D = tf.zeros([6, b, h]);
    const outs: Tensor3D[] = [];
    for (const gx of steps) {
      const gh = tf.add(tf.matMul(state, p.kernelHh), p.biasHh);
      const [xRz, xN] = tf.split(gx, [2 * h, h], 2);
      const [hRz, hN] = tf.split(gh, [2 * h, h], 2);
      const [r, z] = tf.split(tf.sigmoid(tf.add(xRz as Tensor, hRz as Tensor)), 2, 2);
      const n = tf.tanh(tf.add(xN as Tensor, tf.mul(r as Tensor, hN as Tensor)));
      state = tf.add(n, tf.mul(z as Tensor, tf.sub(state, n))) as Tensor3D;
      outs.push(state);
    }
    // [6, B, T, H]; backward slots are in reversed time: flip them back.
    const seq = tf.stack(outs, 2);
    const seqRev = tf.reverse(seq, 2);
    const result: Partial<Record<(typeof TASKS)[number], Tensor3D>> = {};
    TASKS.forEach((task, k) => {
      const fwd = tf.squeeze(tf.slice(seq, [2 * k, 0, 0, 0], [1, -1, -1, -1]), [0]);
      const bwd = tf.squeeze(tf.slice(seqRev, [2 * k + 1, 0, 0, 0], [1, -1, -1, -1]), [0]);
      const y = tf.relu(tf.reshape(tf.concat([fwd, bwd], 2), [b * t, 2 * h])) as Tensor2D;
      const logits = tf.fused.matMul({ a: y, b: weight<Tensor2D>(w, `gru/${task}/fc_1/kernel`), bias: weight<Tensor1D>(w, `gru/${task}/fc_1/bias`) });
      result[task] = tf.reshape(logits, [b, t, logits.shape[1] ?? 0]) as Tensor3D;
    });
    return [result.EXPR, result.AU, result.VA] as Tensor3D[];
  });
  const [EXPR, AU, VA] = out;
  if (EXPR === undefined || AU === undefined || VA === undefined) throw new Error('unreachable: missing task output');
  return { EXPR, AU, VA };
}
