/**
 * Validation as the seed runs it after each epoch (spec §3.4, §6.1): each task's validation faces
 * through the model(s), then EXPR / AU (threshold 0.5 unless given) / VA scores and the
 * model-selection score S = EXPR + AU + CCC_v + CCC_a. An ensemble is combined as test.py does.
 */
import type { LabelledFace } from '../data/types.js';
import { searchAuThresholds, type AuThresholdSearch } from './au-thresholds.js';
import { ensembleOutputs, sigmoid, type MemberLogits } from './ensemble-outputs.js';
import { auMetric, exprMetric, seedScore, thresholdAu, vaMetric, type AuMetric, type ExprMetric, type VaMetric } from './metrics.js';

export interface TaskOutputs {
  /** The task's validation faces (carrying its labels). */
  readonly faces: readonly LabelledFace[];
  /** Per member, its logits on `faces` (only the task's head is read). */
  readonly members: readonly MemberLogits[];
}

export interface ValidationInput {
  readonly EXPR?: TaskOutputs;
  readonly AU?: TaskOutputs;
  readonly VA?: TaskOutputs;
}

export interface ValidationScores {
  readonly expr?: ExprMetric;
  readonly au?: AuMetric;
  readonly va?: VaMetric;
  /** S over the tasks evaluated (the seed's S when all three were); undefined when none was. */
  readonly score?: number;
}

export function evaluateValidation(input: ValidationInput, o: { readonly auThresholds?: number | readonly number[] } = {}): ValidationScores {
  const out: { expr?: ExprMetric; au?: AuMetric; va?: VaMetric; score?: number } = {};
  if (input.EXPR) {
    const e = ensembleOutputs(input.EXPR.members.map((m) => ({ expr: need(m.expr, 'EXPR') })));
    out.expr = exprMetric(input.EXPR.faces.map((f, i) => label(f.expr, i, 'EXPR')), e.exprPred!);
  }
  if (input.AU) {
    const e = ensembleOutputs(input.AU.members.map((m) => ({ au: need(m.au, 'AU') })));
    out.au = auMetric(auTruth(input.AU), thresholdAu(e.auProb!, o.auThresholds ?? 0.5));
  }
  if (input.VA) {
    const e = ensembleOutputs(input.VA.members.map((m) => ({ va: need(m.va, 'VA') })));
    out.va = vaMetric(input.VA.faces.flatMap((f, i) => label(f.va, i, 'VA')), e.va!);
  }
  if (out.expr || out.au || out.va) out.score = seedScore(out.expr, out.au, out.va);
  return out;
}

/** The AU threshold search (spec §6.2, fixed: on the ensemble mean) over the AU validation outputs. */
export function searchAuThresholdsOn(au: TaskOutputs): AuThresholdSearch {
  return searchAuThresholds(
    auTruth(au),
    au.members.map((m) => Float64Array.from(need(m.au, 'AU'), sigmoid)),
  );
}

function auTruth(au: TaskOutputs): number[] {
  return au.faces.flatMap((f, i) => label(f.au, i, 'AU'));
}

function need<T>(v: T | undefined, task: string): T {
  if (v === undefined) throw new RangeError(`a member has no ${task} logits`);
  return v;
}

function label<T>(v: T | undefined, i: number, task: string): T {
  if (v === undefined) throw new RangeError(`validation face ${i} has no ${task} label`);
  return v;
}
