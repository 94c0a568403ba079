/**
 * Validation of one model on the validation sets (eval transform, eval mode): collected logits
 * per task and the seed's scores (spec §6.1) with S = EXPR + AU(thr 0.5) + CCC_v + CCC_a.
 */
import { tf, type Tensor2D } from '../../models/tf.js';
import type { SeedModel } from '../../models/seed/model.js';
import { AU_SELECTION_THRESHOLD, VA_CENTRES, VA_BINS } from '../../models/seed/constants.js';
import type { FaceBatchLoader, LabelledFace, Task } from '../data/types.js';
import { auScore, ccc, exprScore } from './scores.js';
import { disposeLogits, frozenLogits } from './teacher-model.js';

export interface ValSet {
  readonly task: Task;
  /** CNN: one face per unit; CNN-RNN: windows of seqLen faces. */
  readonly units: readonly (readonly LabelledFace[])[];
}

export interface TaskOutputs {
  readonly task: Task;
  readonly faces: readonly LabelledFace[];
  /** Row-major [N, n] logits of this task's head. */
  readonly logits: Float32Array;
  readonly width: number;
}

export async function collectOutputs(model: SeedModel, sets: readonly ValSet[], loader: FaceBatchLoader, batchUnits: number, seqLen?: number): Promise<TaskOutputs[]> {
  const out: TaskOutputs[] = [];
  for (const set of sets) {
    const chunks: Float32Array[] = [];
    const faces: LabelledFace[] = [];
    let width = 0;
    for (let i = 0; i < set.units.length; i += batchUnits) {
      const batch = set.units.slice(i, i + batchUnits).flat();
      const data = await loader(batch, { kind: 'none' }, 0);
      const x = tf.tensor4d(data, [batch.length, 112, 112, 3]);
      const l = frozenLogits(model, x, seqLen);
      x.dispose();
      const t = l[set.task] as Tensor2D;
      width = t.shape[1];
      chunks.push((await t.data()) as Float32Array);
      disposeLogits(l);
      faces.push(...batch);
    }
    const logits = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      logits.set(c, off);
      off += c.length;
    }
    out.push({ task: set.task, faces, logits, width });
  }
  return out;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Softmax expectation over bins [from, from + 20) of a row. */
export function vaValue(row: Float32Array, from: number): number {
  let max = -Infinity;
  for (let k = 0; k < VA_BINS; k++) max = Math.max(max, row[from + k] ?? 0);
  let sum = 0;
  let acc = 0;
  for (let k = 0; k < VA_BINS; k++) {
    const e = Math.exp((row[from + k] ?? 0) - max);
    sum += e;
    acc += e * (VA_CENTRES[k] ?? 0);
  }
  return acc / sum;
}

export interface TaskScores {
  readonly [metric: string]: number;
}

/** Scores of collected outputs; AU thresholds default to 0.5 (the seed's model selection). */
export function scoreOutputs(outputs: readonly TaskOutputs[], auThresholds?: readonly number[]): TaskScores {
  const s: Record<string, number> = {};
  let total = 0;
  for (const o of outputs) {
    const n = o.faces.length;
    if (n === 0) continue;
    if (o.task === 'AU') {
      const probs = Float32Array.from(o.logits, sigmoid);
      const truth = new Float32Array(n * 8);
      o.faces.forEach((f, i) => (f.au ?? []).forEach((v, j) => (truth[i * 8 + j] = v)));
      const r = auScore(probs, truth, auThresholds ?? new Array<number>(8).fill(AU_SELECTION_THRESHOLD));
      Object.assign(s, { au_f1: r.f1, au_acc: r.acc, au_score: r.score });
      total += r.score;
    } else if (o.task === 'EXPR') {
      const pred = Array.from({ length: n }, (_, i) => {
        let best = 0;
        for (let k = 1; k < o.width; k++) if ((o.logits[i * o.width + k] ?? 0) > (o.logits[i * o.width + best] ?? 0)) best = k;
        return best;
      });
      const r = exprScore(pred, o.faces.map((f) => f.expr ?? -1));
      Object.assign(s, { expr_f1: r.f1, expr_acc: r.acc, expr_score: r.score });
      total += r.score;
    } else {
      const v: number[] = [];
      const a: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = o.logits.subarray(i * o.width, (i + 1) * o.width);
        v.push(vaValue(row, 0));
        a.push(vaValue(row, VA_BINS));
      }
      const cv = ccc(v, o.faces.map((f) => f.va?.[0] ?? 0));
      const ca = ccc(a, o.faces.map((f) => f.va?.[1] ?? 0));
      Object.assign(s, { ccc_valence: cv, ccc_arousal: ca });
      total += cv + ca;
    }
  }
  s['S'] = total;
  return s;
}
