import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/media.js';
import type { LabelledFace } from '../data/types.js';
import { evaluateEnsemble } from './ensemble-eval.js';
import { scoreOutputs, type TaskOutputs } from './validate.js';

interface Case {
  au: { gt: number[][]; pred: number[][]; score: number };
  expr: { gt: number[]; pred: number[]; score: number; f1: number; acc: number };
  thresholds: { memberProbs: number[][][]; ensembleMean: (number | null)[]; auWithEnsembleThresholds: { score: number } };
}
const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/train/metrics.json'), 'utf8')) as { cases: Case[] };
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThan(1e-5);
const logit = (p: number): number => Math.log(p / (1 - p));

/** The loop's collected outputs for one member: its AU logits and EXPR logits on the fixture's faces. */
function memberOutputs(c: Case, m: number): TaskOutputs[] {
  const auFaces: LabelledFace[] = c.au.gt.map((au, i) => ({ image: `au/${i}`, au }));
  const exprFaces: LabelledFace[] = c.expr.gt.map((expr, i) => ({ image: `expr/${i}`, expr }));
  const expr = Float32Array.from(c.expr.pred.flatMap((p) => Array.from({ length: 7 }, (_, k) => (k === p ? 4 : 0))));
  return [
    { task: 'EXPR', faces: exprFaces, logits: expr, width: 7 },
    { task: 'AU', faces: auFaces, logits: Float32Array.from(c.thresholds.memberProbs[m]!.flat().map(logit)), width: 8 },
    { task: 'VA', faces: [], logits: new Float32Array(0), width: 40 },
  ];
}

describe('the training loop scores through src/train/eval (the sklearn-checked metrics)', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i: ensemble thresholds on the member mean and the scores they give', (_, c) => {
    const e = evaluateEnsemble([0, 1, 2].map((m) => memberOutputs(c, m)));
    c.thresholds.ensembleMean.forEach((t, j) => close(e.thresholds[j]!, t ?? 0.5));
    close(e.metrics['au_score']!, c.thresholds.auWithEnsembleThresholds.score);
    close(e.metrics['expr_score']!, c.expr.score);
    // No VA faces: S is EXPR + AU, and no CCC is reported.
    close(e.metrics['S']!, c.expr.score + c.thresholds.auWithEnsembleThresholds.score);
    expect(e.metrics['ccc_valence']).toBeUndefined();
    expect(e.metrics['au_score_thr05']).toBeGreaterThan(0);
  });

  it('one model at threshold 0.5 (model selection) gives the metrics of its thresholded decisions', () => {
    const c = fixture.cases[0]!;
    const outs = memberOutputs(c, 0);
    const au = outs[1]!;
    // Logits ±3 from the fixture's 0/1 AU predictions: thresholded at 0.5 they are the predictions.
    const fromPred: TaskOutputs = { ...au, logits: Float32Array.from(c.au.pred.flat().map((p) => (p === 1 ? 3 : -3))) };
    const s = scoreOutputs([outs[0]!, fromPred]);
    close(s['au_score']!, c.au.score);
    close(s['expr_f1']!, c.expr.f1);
    close(s['expr_acc']!, c.expr.acc);
    close(s['S']!, c.au.score + c.expr.score);
  });

  it('members whose outputs do not line up are refused', () => {
    const c = fixture.cases[0]!;
    const a = memberOutputs(c, 0);
    const b = memberOutputs(c, 1).reverse();
    expect(() => evaluateEnsemble([a, b])).toThrow(/do not line up/);
  });
});
