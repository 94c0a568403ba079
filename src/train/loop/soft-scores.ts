/**
 * Validation against a teacher's soft labels (distillation on unlabelled faces): how often the
 * student's top expression is the teacher's, and the mean KL(teacher ‖ student) at T = 1 in nats.
 * S = −KL selects the epoch: it is the quantity the student is trained to lower, and unlike
 * top-1 it still moves when the argmax does not.
 */
import type { TaskOutputs, TaskScores } from './validate.js';

export function softScores(outputs: readonly TaskOutputs[]): TaskScores {
  const o = outputs.find((x) => x.task === 'EXPR');
  if (o === undefined || o.faces.length === 0) return { S: Number.NEGATIVE_INFINITY };
  let agree = 0;
  let kl = 0;
  const w = o.width;
  for (const [i, face] of o.faces.entries()) {
    const p = face.exprSoft;
    if (p === undefined || p.length !== w) throw new RangeError(`${face.image}: no soft label of ${w} classes`);
    const row = o.logits.subarray(i * w, (i + 1) * w);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    const logZ = Math.log(z) + max;
    let best = 0;
    let bestP = 0;
    for (let k = 0; k < w; k++) {
      if ((row[k] ?? 0) > (row[best] ?? 0)) best = k;
      const pk = p[k] ?? 0;
      if (pk > (p[bestP] ?? 0)) bestP = k;
      if (pk > 0) kl += pk * (Math.log(pk) - ((row[k] ?? 0) - logZ));
    }
    if (best === bestP) agree++;
  }
  const n = o.faces.length;
  return { agreement: agree / n, kl: kl / n, S: -kl / n };
}

/** The ensemble's scores against the soft labels: members' softmax averaged, as the daemon decides. */
export function softEnsembleScores(members: readonly (readonly TaskOutputs[])[]): TaskScores {
  const outs = members.map((m) => m.find((x) => x.task === 'EXPR')).filter((x): x is TaskOutputs => x !== undefined);
  const first = outs[0];
  if (first === undefined) return { S: Number.NEGATIVE_INFINITY };
  const w = first.width;
  const mean = new Float32Array(first.logits.length);
  for (const o of outs) {
    for (let i = 0; i < first.faces.length; i++) {
      const row = o.logits.subarray(i * w, (i + 1) * w);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - max);
      for (let k = 0; k < w; k++) mean[i * w + k] = (mean[i * w + k] ?? 0) + Math.exp((row[k] ?? 0) - max) / z / outs.length;
    }
  }
  return softScores([{ task: 'EXPR', faces: first.faces, logits: mean.map((p) => Math.log(Math.max(p, 1e-12))), width: w }]);
}
