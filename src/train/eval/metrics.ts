/**
 * The ABAW 2020 metrics exactly as the seed codes them (spec §6.1, `MC/utils/model_utils.py`):
 * - AU: 0.5·F1 + 0.5·Acc; F1 = mean over the 8 AUs of sklearn's binary F1 (0 when an AU has no
 *   positive prediction and no positive truth), Acc over all N×8 decisions;
 * - EXPR: 0.67·F1 + 0.33·Acc; F1 = sklearn's macro F1 over its default labels, the union of the
 *   classes present in the truth and in the predictions;
 * - VA: CCC with the population std (np.std), and the seed's VA score, the sum CCC_v + CCC_a;
 * - the seed's validation score S = EXPR + AU (threshold 0.5) + CCC_v + CCC_a (over the tasks present).
 * Arrays are flat, row-major (AU: N×8, VA: N×2).
 */

export interface AuMetric {
  readonly f1PerAu: readonly number[];
  readonly f1: number;
  readonly acc: number;
  readonly score: number;
}

export interface ExprMetric {
  readonly f1: number;
  readonly acc: number;
  readonly score: number;
}

export interface VaMetric {
  readonly cccV: number;
  readonly cccA: number;
  /** CCC_v + CCC_a, as the seed's code returns it (the challenge is believed to use the mean). */
  readonly score: number;
}

const AUS = 8;

function rows(len: number, width: number, what: string): number {
  if (len % width !== 0) throw new RangeError(`${what}: length ${len} is not a multiple of ${width}`);
  return len / width;
}

/** sklearn's binary F1 = 2tp / (2tp + fp + fn), and 0 where that is 0/0 (zero_division=0). */
export function binaryF1(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
}

/** AU score from 0/1 truth and 0/1 predictions (N×8 each). */
export function auMetric(gt: ArrayLike<number>, pred: ArrayLike<number>): AuMetric {
  if (gt.length !== pred.length) throw new RangeError(`AU truth and predictions differ in length (${gt.length} vs ${pred.length})`);
  const n = rows(gt.length, AUS, 'AU');
  if (n === 0) throw new RangeError('AU metric of no samples');
  const tp = new Array<number>(AUS).fill(0);
  const fp = new Array<number>(AUS).fill(0);
  const fn = new Array<number>(AUS).fill(0);
  let right = 0;
  for (let i = 0; i < gt.length; i++) {
    const j = i % AUS;
    const g = gt[i] === 1;
    const p = pred[i] === 1;
    if (g === p) right++;
    if (g && p) tp[j]!++;
    else if (p) fp[j]!++;
    else if (g) fn[j]!++;
  }
  const f1PerAu = tp.map((t, j) => binaryF1(t, fp[j]!, fn[j]!));
  const f1 = f1PerAu.reduce((a, b) => a + b, 0) / AUS;
  const acc = right / gt.length;
  return { f1PerAu, f1, acc, score: 0.5 * f1 + 0.5 * acc };
}

/** Thresholds AU probabilities: on iff p > thr (strict, spec §2.5). */
export function thresholdAu(prob: ArrayLike<number>, thresholds: number | readonly number[] = 0.5): Uint8Array {
  const out = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) {
    const t = typeof thresholds === 'number' ? thresholds : thresholds[i % AUS]!;
    out[i] = prob[i]! > t ? 1 : 0;
  }
  return out;
}

/** EXPR score from class truth and class predictions. */
export function exprMetric(gt: ArrayLike<number>, pred: ArrayLike<number>): ExprMetric {
  if (gt.length !== pred.length) throw new RangeError(`EXPR truth and predictions differ in length (${gt.length} vs ${pred.length})`);
  if (gt.length === 0) throw new RangeError('EXPR metric of no samples');
  const labels = new Set<number>();
  const tp = new Map<number, number>();
  const fp = new Map<number, number>();
  const fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let right = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i]!;
    const p = pred[i]!;
    labels.add(g);
    labels.add(p);
    if (g === p) {
      right++;
      inc(tp, g);
    } else {
      inc(fp, p);
      inc(fn, g);
    }
  }
  let sum = 0;
  for (const c of labels) sum += binaryF1(tp.get(c) ?? 0, fp.get(c) ?? 0, fn.get(c) ?? 0);
  const f1 = sum / labels.size;
  const acc = right / gt.length;
  return { f1, acc, score: 0.67 * f1 + 0.33 * acc };
}

/** Concordance correlation coefficient with population std (the seed's metric, not its loss); 0 where an input is constant. */
export function ccc(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`CCC inputs differ in length (${n} vs ${y.length})`);
  if (n === 0) throw new RangeError('CCC of no samples');
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const vx = x[i]! - mx;
    const vy = y[i]! - my;
    sxy += vx * vy;
    sxx += vx * vx;
    syy += vy * vy;
  }
  // 2ρ·s_x·s_y = 2·cov: the seed's formula without its 0/0 where an input is constant (it gives
  // NaN there, e.g. for an untrained head's constant output, and a NaN S never wins model
  // selection); the limit there is 0, and 0 is also taken when both are the same constant.
  const denom = sxx / n + syy / n + (mx - my) ** 2;
  return denom === 0 ? 0 : (2 * sxy) / n / denom;
}

/** VA score from [v, a] truth and predictions (N×2 each). */
export function vaMetric(gt: ArrayLike<number>, pred: ArrayLike<number>): VaMetric {
  if (gt.length !== pred.length) throw new RangeError(`VA truth and predictions differ in length (${gt.length} vs ${pred.length})`);
  const n = rows(gt.length, 2, 'VA');
  const col = (a: ArrayLike<number>, c: number): Float64Array => Float64Array.from({ length: n }, (_, i) => a[i * 2 + c]!);
  const cccV = ccc(col(pred, 0), col(gt, 0));
  const cccA = ccc(col(pred, 1), col(gt, 1));
  return { cccV, cccA, score: cccV + cccA };
}

/**
 * The seed's model-selection score S = EXPR score + AU score + CCC_v + CCC_a, summed over the
 * tasks given (a run whose data lacks a task still selects its best epoch by the others).
 */
export function seedScore(expr: ExprMetric | undefined, au: AuMetric | undefined, va: VaMetric | undefined): number {
  return (expr?.score ?? 0) + (au?.score ?? 0) + (va !== undefined ? va.cccV + va.cccA : 0);
}
