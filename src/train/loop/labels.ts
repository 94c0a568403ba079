/** Label tensors of one task batch, from the faces' labels. */
import { tf } from '../../models/tf.js';
import type { LabelledFace, Task } from '../data/types.js';
import { TrainError } from '../errors.js';
import type { TaskLabels } from '../losses.js';

export function labelsOf(task: Task, faces: readonly LabelledFace[]): TaskLabels {
  const missing = (f: LabelledFace): never => {
    throw new TrainError(`${f.image}: no ${task} label in a ${task} batch`, { image: f.image });
  };
  switch (task) {
    case 'EXPR':
      return { task, y: tf.tensor1d(faces.map((f) => f.expr ?? missing(f)), 'int32') };
    case 'AU':
      return { task, y: tf.tensor2d(faces.map((f) => [...(f.au ?? missing(f))]), [faces.length, 8]) };
    case 'VA':
      return { task, y: tf.tensor2d(faces.map((f) => [...(f.va ?? missing(f))]), [faces.length, 2]) };
  }
}

/**
 * A teacher's soft EXPR labels as logits [N, 7]: log-probabilities (softmax(log p / T) is the
 * teacher's distribution at temperature T). Zeros are floored so the logits stay finite.
 */
export function softTargets(faces: readonly LabelledFace[]): tf.Tensor2D {
  const rows = faces.map((f) => {
    const p = f.exprSoft;
    if (p === undefined || p.length !== 7) throw new TrainError(`${f.image}: no soft EXPR label (a teacher's 7 probabilities)`, { image: f.image });
    return p.map((v) => Math.log(Math.max(v, 1e-7)));
  });
  return tf.tensor2d(rows, [faces.length, 7]);
}

/** A seeded shuffle for tasks without a balancing sampler (and for the CNN-RNN's windows). */
export function permutationSampler(n: number, seed: number): { readonly name: string; epoch(e: number): Uint32Array; readonly stats: Readonly<Record<string, unknown>> } {
  return {
    name: 'shuffle',
    stats: { n },
    epoch(e: number): Uint32Array {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = i;
      let s = (seed * 2654435761 + e * 40503 + 1) >>> 0;
      const next = (): number => {
        // mulberry32
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const a = out[i] ?? 0;
        out[i] = out[j] ?? 0;
        out[j] = a;
      }
      return out;
    },
  };
}
