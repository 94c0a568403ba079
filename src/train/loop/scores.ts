/**
 * The seed's validation scores (spec §6.1) for model selection during training:
 * AU 0.5·F1 + 0.5·Acc at threshold 0.5, EXPR 0.67·F1 + 0.33·Acc, VA CCC_v + CCC_a (population
 * std), S = their sum over the tasks validated.
 */
export function binaryF1(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] === 1;
    const p = pred[i] === 1;
    if (t && p) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** AU: per-AU F1 averaged, accuracy over all N×8 decisions. `probs`/`truth` row-major [N, 8]. */
export function auScore(probs: Float32Array, truth: Float32Array, thresholds: readonly number[]): { f1: number; acc: number; score: number; perAu: number[] } {
  const k = thresholds.length;
  const n = probs.length / k;
  let correct = 0;
  const perAu: number[] = [];
  for (let j = 0; j < k; j++) {
    const t = new Uint8Array(n);
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = truth[i * k + j] === 1 ? 1 : 0;
      p[i] = (probs[i * k + j] ?? 0) > (thresholds[j] ?? 0.5) ? 1 : 0;
      if (t[i] === p[i]) correct++;
    }
    perAu.push(binaryF1(t, p));
  }
  const f1 = perAu.reduce((a, b) => a + b, 0) / k;
  const acc = correct / (n * k);
  return { f1, acc, score: 0.5 * f1 + 0.5 * acc, perAu };
}

/** EXPR: sklearn macro F1 over the classes present in truth or prediction, and accuracy. */
export function exprScore(pred: ArrayLike<number>, truth: ArrayLike<number>): { f1: number; acc: number; score: number } {
  const classes = new Set<number>();
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    classes.add(truth[i] ?? 0);
    classes.add(pred[i] ?? 0);
    if (truth[i] === pred[i]) correct++;
  }
  let sum = 0;
  for (const c of classes) {
    const t = Array.from(truth, (v) => (v === c ? 1 : 0));
    const p = Array.from(pred, (v) => (v === c ? 1 : 0));
    sum += binaryF1(t, p);
  }
  const f1 = classes.size === 0 ? 0 : sum / classes.size;
  const acc = truth.length === 0 ? 0 : correct / truth.length;
  return { f1, acc, score: 0.67 * f1 + 0.33 * acc };
}

/** CCC with population statistics (np.std). */
export function ccc(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] ?? 0;
    my += y[i] ?? 0;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = (x[i] ?? 0) - mx;
    const b = (y[i] ?? 0) - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  const denom = sxx / n + syy / n + (mx - my) ** 2;
  return denom === 0 ? 0 : (2 * sxy) / n / denom;
}

/**
 * AU threshold per AU at the precision = recall break-even of the precision-recall curve
 * (sklearn's `precision_recall_curve` thresholds, argmin |P − R|, first on ties).
 */
export function breakEvenThreshold(scores: ArrayLike<number>, truth: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
  const positives = Array.from(truth).filter((t) => t === 1).length;
  if (positives === 0) return 0.5;
  // Distinct thresholds in decreasing order; sklearn stops once recall reaches 1 (last_ind).
  const points: { thr: number; p: number; r: number }[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] ?? 0;
    if (truth[i] === 1) tp++;
    else fp++;
    const next = idx[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    points.push({ thr: scores[i] ?? 0, p: tp / (tp + fp), r: tp / positives });
    if (tp === positives) break;
  }
  // sklearn returns them in increasing-threshold order; argmin takes the first minimum there.
  points.reverse();
  let best = points[0];
  for (const pt of points) if (best === undefined || Math.abs(pt.p - pt.r) < Math.abs(best.p - best.r)) best = pt;
  return best?.thr ?? 0.5;
}
