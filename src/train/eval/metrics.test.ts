import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/media.js';
import { breakEvenThreshold, precisionRecallCurve, searchAuThresholds } from './au-thresholds.js';
import { ensembleOutputs, vaExpectation } from './ensemble-outputs.js';
import { auMetric, ccc, exprMetric, seedScore, thresholdAu, vaMetric } from './metrics.js';

interface Case {
  au: { gt: number[][]; pred: number[][]; f1PerAu: number[]; f1: number; acc: number; score: number };
  expr: { gt: number[]; pred: number[]; f1: number; acc: number; score: number };
  va: { gt: number[][]; pred: number[][]; cccV: number; cccA: number; score: number };
  seedScore: number;
  thresholds: { memberProbs: number[][][]; ensembleMean: (number | null)[]; lastMember: (number | null)[]; auWithEnsembleThresholds: { f1: number; acc: number; score: number } };
}
const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/train/metrics.json'), 'utf8')) as {
  cases: Case[];
  precisionRecallCurve: { gt: number[]; scores: number[]; precision: number[]; recall: number[]; thresholds: number[]; chosen: number };
};
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThan(1e-5);

describe('ABAW metrics as coded, against sklearn (test/fixtures/train/metrics.json)', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i: AU, EXPR, CCC and S', (_, c) => {
    const au = auMetric(c.au.gt.flat(), c.au.pred.flat());
    au.f1PerAu.forEach((f, j) => close(f, c.au.f1PerAu[j]!));
    expect(au.f1PerAu[1]).toBe(0); // never predicted
    close(au.f1, c.au.f1);
    close(au.acc, c.au.acc);
    close(au.score, c.au.score);
    const ex = exprMetric(c.expr.gt, c.expr.pred);
    close(ex.f1, c.expr.f1);
    close(ex.acc, c.expr.acc);
    close(ex.score, c.expr.score);
    const va = vaMetric(c.va.gt.flat(), c.va.pred.flat());
    close(va.cccV, c.va.cccV);
    close(va.cccA, c.va.cccA);
    close(va.score, c.va.score);
    close(seedScore(ex, au, va), c.seedScore);
  });

  it('EXPR macro F1 averages over the union of true and predicted classes (sklearn default labels)', () => {
    // Class 3 only predicted, never true: it counts with F1 0.
    const m = exprMetric([0, 0, 1, 1], [0, 0, 1, 3]);
    close(m.f1, (1 + 2 / 3 + 0) / 3);
  });

  it('CCC uses the population std: perfect agreement is 1, a constant offset lowers it', () => {
    close(ccc([1, 2, 3], [1, 2, 3]), 1);
    // mean offset 1, var 2/3 each (population): 2·(2/3) / (2/3 + 2/3 + 1) = 4/7
    close(ccc([2, 3, 4], [1, 2, 3]), 4 / 7);
  });

  it('CCC of a constant input is 0, not the seed formula\'s NaN (a NaN S would never be selected)', () => {
    expect(ccc([0.25, 0.25, 0.25], [0.1, -0.3, 0.5])).toBe(0);
    expect(ccc([0.1, -0.3, 0.5], [0.5, 0.5, 0.5])).toBe(0);
    expect(ccc([0.5, 0.5], [0.5, 0.5])).toBe(0);
    // A constant whose mean is off by rounding still gives (almost) 0, never NaN.
    expect(Math.abs(ccc([0.2, 0.2, 0.2], [0.1, -0.3, 0.5]))).toBeLessThan(1e-12);
    // Near-constant predictions approach that limit continuously.
    expect(Math.abs(ccc([0.2, 0.2 + 1e-9, 0.2], [0.1, -0.3, 0.5]))).toBeLessThan(1e-6);
  });

  it('sklearn precision_recall_curve with tied scores', () => {
    const p = fixture.precisionRecallCurve;
    const c = precisionRecallCurve(p.gt, p.scores);
    expect([...c.thresholds]).toEqual(p.thresholds);
    [...c.precision].forEach((v, i) => close(v, p.precision[i]!));
    [...c.recall].forEach((v, i) => close(v, p.recall[i]!));
    expect(breakEvenThreshold(p.gt, p.scores)).toBe(p.chosen);
  });

  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i: AU threshold search on the ensemble mean (fixed) and the last member (original)', (_, c) => {
    const gt = c.au.gt.flat();
    const members = c.thresholds.memberProbs.map((m) => m.flat());
    const fixed = searchAuThresholds(gt, members);
    const orig = searchAuThresholds(gt, members, { mode: 'last-member' });
    c.thresholds.ensembleMean.forEach((t, j) => {
      if (t === null) {
        expect(fixed.undefinedAus).toContain(j);
        expect(fixed.thresholds[j]).toBe(0.5);
      } else close(fixed.thresholds[j]!, t);
    });
    c.thresholds.lastMember.forEach((t, j) => {
      if (t !== null) close(orig.thresholds[j]!, t);
    });
    expect(fixed.thresholds).not.toEqual(orig.thresholds);
    const mean = members[0]!.map((_, i) => (members[0]![i]! + members[1]![i]! + members[2]![i]!) / 3);
    const m = auMetric(gt, thresholdAu(mean, fixed.thresholds));
    close(m.score, c.thresholds.auWithEnsembleThresholds.score);
  });
});

describe('ensembling per-member outputs (test.py)', () => {
  it('AU mean sigmoid, EXPR mean softmax → argmax, VA mean of expectations', () => {
    const a = { au: [0, 2, -2, 0, 0, 0, 0, 0], expr: [5, 0, 0, 0, 0, 0, 0], va: new Array<number>(40).fill(0) };
    const bVa = new Array<number>(40).fill(0);
    bVa[19] = 50; // valence ≈ +1
    bVa[20] = 50; // arousal ≈ −1
    const b = { au: [0, -2, 2, 0, 0, 0, 0, 0], expr: [0, 0, 0, 0, 0, 0, 9], va: bVa };
    const e = ensembleOutputs([a, b]);
    close(e.auProb![0]!, 0.5);
    close(e.auProb![1]!, 0.5); // (σ(2) + σ(−2)) / 2
    expect(e.exprPred![0]).toBe(6); // softmax mean favours the sharper member
    close(e.va![0]!, (0 + 1) / 2);
    close(e.va![1]!, (0 - 1) / 2);
    close(vaExpectation(new Array<number>(40).fill(3))[0]!, 0);
  });
});

describe('validation scores (per-epoch model selection)', () => {
  it('S from per-task member logits equals the metrics on the ensembled decisions', async () => {
    const { evaluateValidation } = await import('./validation.js');
    const c = fixture.cases[0]!;
    const n = c.expr.gt.length;
    // Logits whose argmax / sigmoid reproduce the fixture's predictions.
    const expr = c.expr.pred.flatMap((p) => Array.from({ length: 7 }, (_, k) => (k === p ? 4 : 0)));
    const au = c.au.pred.flat().map((p) => (p === 1 ? 3 : -3));
    const faces = Array.from({ length: n }, (_, i) => ({ image: `${i}`, expr: c.expr.gt[i]!, au: c.au.gt[i]!, va: c.va.gt[i] as [number, number] }));
    const v = evaluateValidation({ EXPR: { faces, members: [{ expr }] }, AU: { faces, members: [{ au }, { au }] } });
    close(v.expr!.score, c.expr.score);
    close(v.au!.score, c.au.score);
    // S sums the tasks evaluated (here EXPR and AU; no VA set).
    close(v.score!, c.expr.score + c.au.score);
    expect(v.va).toBeUndefined();
    expect(evaluateValidation({}).score).toBeUndefined();
  });
});
