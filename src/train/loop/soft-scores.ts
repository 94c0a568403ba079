/**
 * Validation against a teacher's soft labels (distillation on unlabelled faces): how often the
 * student's top expression is the teacher's, and the mean KL(teacher ‖ student) at T = 1 in nats.
 * S = −KL selects the epoch: it is the quantity the student is trained to lower, and unlike
 * top-1 it still moves when the argmax does not.
 */
import { softmaxRows } from '../eval/ensemble-outputs.js';
import type { TaskOutputs, TaskScores } from './validate.js';

const argmax = (row: ArrayLike<number>, from: number, w: number): number => {
  let best = 0;
  for (let k = 1; k < w; k++) if ((row[from + k] ?? 0) > (row[from + best] ?? 0)) best = k;
  return best;
};

/** Scores of the student's probabilities q (rows of width w) against the faces' soft labels. */
function scoreProbabilities(faces: TaskOutputs['faces'], q: Float64Array, w: number): TaskScores {
  let agree = 0;
  let kl = 0;
  for (const [i, face] of faces.entries()) {
    const p = face.exprSoft;
    if (p === undefined || p.length !== w) throw new RangeError(`${face.image}: no soft label of ${w} classes`);
    for (let k = 0; k < w; k++) {
      const pk = p[k] ?? 0;
      if (pk > 0) kl += pk * (Math.log(pk) - Math.log(Math.max(q[i * w + k] ?? 0, Number.MIN_VALUE)));
    }
    if (argmax(q, i * w, w) === argmax(p, 0, w)) agree++;
  }
  const n = faces.length;
  return { agreement: agree / n, kl: kl / n, S: -kl / n };
}

export function softScores(outputs: readonly TaskOutputs[]): TaskScores {
  const o = outputs.find((x) => x.task === 'EXPR');
  if (o === undefined || o.faces.length === 0) return { S: Number.NEGATIVE_INFINITY };
  return scoreProbabilities(o.faces, softmaxRows(o.logits, o.width), o.width);
}

/** The ensemble's scores against the soft labels: members' softmax averaged, as the daemon decides. */
export function softEnsembleScores(members: readonly (readonly TaskOutputs[])[]): TaskScores {
  const outs = members.map((m) => m.find((x) => x.task === 'EXPR')).filter((x): x is TaskOutputs => x !== undefined);
  const first = outs[0];
  if (first === undefined || first.faces.length === 0) return { S: Number.NEGATIVE_INFINITY };
  const mean = new Float64Array(first.logits.length);
  for (const o of outs) softmaxRows(o.logits, first.width).forEach((q, i) => (mean[i] = (mean[i] ?? 0) + q / outs.length));
  return scoreProbabilities(first.faces, mean, first.width);
}
