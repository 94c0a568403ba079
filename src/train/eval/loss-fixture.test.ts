/**
 * The loss fixture's layout, stated as code: plain float64 re-implementations of the seed's losses
 * reproduce every value of test/fixtures/train/losses.json (PyTorch). The TF.js losses of the
 * training engine are tested against the same file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/media.js';
import { VA_BIN_EDGES, vaBin } from '../data/va-bins.js';

type M = number[][];
type Heads = { EXPR: M; AU: M; VA: M };
const f = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/train/losses.json'), 'utf8')) as {
  batch: number;
  constants: { T: number; lambdaTeacher: number; weights: { AU: number; EXPR: number; V: number; A: number; ccc: number }; centres: number[]; binEdges: number[] };
  labels: { EXPR: number[]; AU: M; VA: M };
  student: Record<'EXPR' | 'AU' | 'VA', Heads>;
  teacher: Record<'EXPR' | 'AU' | 'VA', Heads>;
  single: Record<string, number | number[]>;
  teacherLoss: { value: number };
  studentLoss: { value: number; perBatch: Record<string, { sum: number; terms: Record<string, number> }> };
};
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThan(1e-5);
const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
const logSoftmax = (z: number[]): number[] => {
  const m = Math.max(...z);
  const l = Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
  return z.map((v) => v - l);
};
const ce = (z: M, y: number[]): number => mean(z.map((r, i) => -logSoftmax(r)[y[i]!]!));
const bceLogits = (z: M, t: M): number => mean(z.flatMap((r, i) => r.map((x, j) => Math.max(x, 0) - x * t[i]![j]! + Math.log1p(Math.exp(-Math.abs(x))))));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const bin = (y: number): number => Math.min(19, f.constants.binEdges.filter((e) => e <= y).length - 1);
const expectation = (z: M): number[] => z.map((r) => logSoftmax(r).reduce((s, l, k) => s + Math.exp(l) * f.constants.centres[k]!, 0));
const cccUnbiased = (x: number[], y: number[]): number => {
  const mx = mean(x);
  const my = mean(y);
  const vx = x.map((v) => v - mx);
  const vy = y.map((v) => v - my);
  const sxy = vx.reduce((s, v, i) => s + v * vy[i]!, 0);
  const sxx = vx.reduce((s, v) => s + v * v, 0);
  const syy = vy.reduce((s, v) => s + v * v, 0);
  const rho = sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
  const sx = Math.sqrt(sxx / (x.length - 1));
  const sy = Math.sqrt(syy / (y.length - 1));
  return (2 * rho * sx * sy) / (sx * sx + sy * sy + (mx - my) ** 2);
};
const kl = (s: M, t: M): number => {
  const T = f.constants.T;
  let sum = 0;
  s.forEach((row, i) => {
    const ls = logSoftmax(row.map((v) => v / T));
    const lt = logSoftmax(t[i]!.map((v) => v / T));
    lt.forEach((l, k) => (sum += Math.exp(l) * (l - ls[k]!)));
  });
  return sum / s.length;
};
const half = (z: M, h: 0 | 1): M => z.map((r) => r.slice(h * 20, h * 20 + 20));
const col = (m: M, c: number): number[] => m.map((r) => r[c]!);
const vaHalf = (z: M, y: number[]): { ce: number; ccc: number } => ({ ce: ce(z, y.map(bin)), ccc: cccUnbiased(expectation(z), y) });

describe('loss fixture (PyTorch) reproduced by plain float64 code', () => {
  const s = f.student;
  const t = f.teacher;
  const w = f.constants.weights;

  it('single terms: CE, BCE, bins, CE20, expectation, CCC (unbiased), KL batchmean T=1.5, BCE to sigmoid(teacher)', () => {
    close(ce(s.EXPR.EXPR, f.labels.EXPR), f.single.ceExpr as number);
    close(bceLogits(s.AU.AU, f.labels.AU), f.single.bceAu as number);
    expect(VA_BIN_EDGES).toEqual(f.constants.binEdges);
    expect(col(f.labels.VA, 0).map(vaBin)).toEqual(f.single.binsValence);
    expect(col(f.labels.VA, 0).map(bin)).toEqual(f.single.binsValence);
    expect(col(f.labels.VA, 1).map(bin)).toEqual(f.single.binsArousal);
    const v = vaHalf(half(s.VA.VA, 0), col(f.labels.VA, 0));
    const a = vaHalf(half(s.VA.VA, 1), col(f.labels.VA, 1));
    close(v.ce, f.single.ce20Valence as number);
    close(a.ce, f.single.ce20Arousal as number);
    expectation(half(s.VA.VA, 0)).forEach((e, i) => close(e, (f.single.expectationValence as number[])[i]!));
    close(v.ccc, f.single.cccValence as number);
    close(a.ccc, f.single.cccArousal as number);
    close(kl(s.EXPR.EXPR, t.EXPR.EXPR), f.single.klExpr as number);
    close(kl(half(s.VA.VA, 0), half(t.VA.VA, 0)), f.single.klValence as number);
    close(kl(half(s.VA.VA, 1), half(t.VA.VA, 1)), f.single.klArousal as number);
    close(bceLogits(s.AU.AU, t.AU.AU.map((r) => r.map(sigmoid))), f.single.bceDistillAu as number);
  });

  it('teacher loss L_T and student loss L_S', () => {
    const v = vaHalf(half(s.VA.VA, 0), col(f.labels.VA, 0));
    const a = vaHalf(half(s.VA.VA, 1), col(f.labels.VA, 1));
    const lt = w.EXPR * ce(s.EXPR.EXPR, f.labels.EXPR) + w.AU * bceLogits(s.AU.AU, f.labels.AU) + w.V * (v.ce + w.ccc * (1 - v.ccc)) + w.A * (a.ce + w.ccc * (1 - a.ccc));
    close(lt, f.teacherLoss.value);
    const lam = f.constants.lambdaTeacher;
    let total = 0;
    for (const task of ['EXPR', 'AU', 'VA'] as const) {
      const st = s[task];
      const te = t[task];
      const d = { EXPR: kl(st.EXPR, te.EXPR), AU: bceLogits(st.AU, te.AU.map((r) => r.map(sigmoid))), V: kl(half(st.VA, 0), half(te.VA, 0)), A: kl(half(st.VA, 1), half(te.VA, 1)) };
      const g: Partial<Record<keyof typeof d, number>> = {};
      if (task === 'EXPR') g.EXPR = ce(st.EXPR, f.labels.EXPR);
      if (task === 'AU') g.AU = bceLogits(st.AU, f.labels.AU);
      if (task === 'VA') {
        const gv = vaHalf(half(st.VA, 0), col(f.labels.VA, 0));
        const ga = vaHalf(half(st.VA, 1), col(f.labels.VA, 1));
        g.V = gv.ce + w.ccc * (1 - gv.ccc);
        g.A = ga.ce + w.ccc * (1 - ga.ccc);
      }
      let sum = 0;
      for (const k of ['EXPR', 'AU', 'V', 'A'] as const) {
        const lk = g[k] !== undefined ? lam * d[k] + (1 - lam) * g[k]! : d[k];
        close(lk, f.studentLoss.perBatch[task]!.terms[k]!);
        sum += lk;
      }
      close(sum, f.studentLoss.perBatch[task]!.sum);
      total += sum;
    }
    close(total / 3, f.studentLoss.value);
  });
});
