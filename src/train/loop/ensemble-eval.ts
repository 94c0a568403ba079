/**
 * The final evaluation of an ensemble on the validation sets: AU thresholds searched on the
 * ensemble-mean probabilities (spec §6.2 with its last-model bug fixed), EXPR by mean softmax,
 * VA by the mean of the members' expectations (the `test.py` recipe).
 */
import { VA_BINS } from '../../models/seed/constants.js';
import { auScore, breakEvenThreshold, ccc, exprScore } from './scores.js';
import { vaValue, type TaskOutputs } from './validate.js';

export interface EnsembleEval {
  readonly thresholds: number[];
  readonly metrics: Record<string, number>;
}

function softmaxRow(row: Float32Array): Float64Array {
  const max = Math.max(...row);
  const e = Float64Array.from(row, (z) => Math.exp(z - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** `members[m]` = the outputs of member m, in the same task and face order for every member. */
export function evaluateEnsemble(members: readonly (readonly TaskOutputs[])[]): EnsembleEval {
  const first = members[0] ?? [];
  const metrics: Record<string, number> = {};
  let thresholds = new Array<number>(8).fill(0.5);
  let total = 0;
  first.forEach((o, ti) => {
    const n = o.faces.length;
    const outs = members.map((m) => m[ti]).filter((x): x is TaskOutputs => x !== undefined);
    if (n === 0) return;
    if (o.task === 'AU') {
      const probs = new Float32Array(n * 8);
      for (const m of outs) m.logits.forEach((z, i) => (probs[i] = (probs[i] ?? 0) + 1 / (1 + Math.exp(-z)) / outs.length));
      const truth = new Float32Array(n * 8);
      o.faces.forEach((f, i) => (f.au ?? []).forEach((v, j) => (truth[i * 8 + j] = v)));
      thresholds = Array.from({ length: 8 }, (_, j) =>
        breakEvenThreshold(
          Array.from({ length: n }, (_, i) => probs[i * 8 + j] ?? 0),
          Array.from({ length: n }, (_, i) => truth[i * 8 + j] ?? 0),
        ),
      );
      const r = auScore(probs, truth, thresholds);
      const r05 = auScore(probs, truth, new Array<number>(8).fill(0.5));
      Object.assign(metrics, { au_f1: r.f1, au_acc: r.acc, au_score: r.score, au_score_thr05: r05.score });
      total += r.score;
    } else if (o.task === 'EXPR') {
      const pred: number[] = [];
      for (let i = 0; i < n; i++) {
        const mean = new Float64Array(o.width);
        for (const m of outs) softmaxRow(m.logits.subarray(i * o.width, (i + 1) * o.width)).forEach((p, k) => (mean[k] = (mean[k] ?? 0) + p));
        let best = 0;
        for (let k = 1; k < o.width; k++) if ((mean[k] ?? 0) > (mean[best] ?? 0)) best = k;
        pred.push(best);
      }
      const r = exprScore(pred, o.faces.map((f) => f.expr ?? -1));
      Object.assign(metrics, { expr_f1: r.f1, expr_acc: r.acc, expr_score: r.score });
      total += r.score;
    } else {
      const v = new Array<number>(n).fill(0);
      const a = new Array<number>(n).fill(0);
      for (const m of outs) {
        for (let i = 0; i < n; i++) {
          const row = m.logits.subarray(i * o.width, (i + 1) * o.width);
          v[i] = (v[i] ?? 0) + vaValue(row, 0) / outs.length;
          a[i] = (a[i] ?? 0) + vaValue(row, VA_BINS) / outs.length;
        }
      }
      const cv = ccc(v, o.faces.map((f) => f.va?.[0] ?? 0));
      const ca = ccc(a, o.faces.map((f) => f.va?.[1] ?? 0));
      Object.assign(metrics, { ccc_valence: cv, ccc_arousal: ca });
      total += cv + ca;
    }
  });
  metrics['S'] = total;
  return { thresholds, metrics };
}
