/**
 * The output record of `daemon predict`, built from the ensemble's decision: one per frame (per
 * frame and track for a video). Its CSV columns are core/prediction-csv.ts's, shared with the
 * events.csv of a recording.
 */
import { EXPR_LABELS, argmax, type EnsembleFrame, type MemberFrame } from '../models/seed/index.js';
import type { FaceQualityRow, MemberRow, PredictionRow } from '../core/prediction-csv.js';
import type { RowBaseline } from '../core/trust-columns.js';
import { scoresOf } from '../pipeline/affect/affect-events.js';
import { splitBaseline } from '../pipeline/affect/baseline-affect.js';
import type { BaselineReport } from '../pipeline/affect/baselines.js';

export { csvHeader, csvLine, csvValues, type CsvLayout, type MemberRow, type PredictionRow } from '../core/prediction-csv.js';

/** Six decimals: far below the models' precision (1e-4 parity), and keeps rows short. */
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export interface RowContext {
  readonly frame: number;
  readonly source: string;
  readonly trackId?: number;
  readonly pts?: number;
  /** Video rows: the face's quality, as its faces event reports it. */
  readonly quality?: FaceQualityRow;
}

/** A row's `baseline`, as an event's (affect-events.ts): each output's baseline and its difference from it. */
function rowBaseline(f: EnsembleFrame, report: BaselineReport): RowBaseline {
  if (!report.values) return { state: report.state, samples: report.samples };
  const scores = scoresOf(f);
  const b = splitBaseline(report.values, scores);
  const { au, va } = scores;
  return {
    state: report.state,
    samples: report.samples,
    ...(au && b.au ? { au: { probs: b.au.map(r6), delta: b.au.map((x, j) => r6(au[j]! - x)) } } : {}),
    expr: { probs: b.expr.map(r6), delta: b.expr.map((x, j) => r6(scores.expr[j]! - x)) },
    ...(va && b.va ? { va: { valence: r6(b.va[0]), arousal: r6(b.va[1]), delta: { valence: r6(va[0] - b.va[0]), arousal: r6(va[1] - b.va[1]) } } } : {}),
  };
}

export function toRow(ctx: RowContext, f: EnsembleFrame, members: readonly { readonly name: string; readonly role: string }[], baseline?: BaselineReport): PredictionRow {
  const memberRows = f.members?.map((m: MemberFrame, i): MemberRow => {
    const exprIndex = argmax(m.exprProbabilities);
    return {
      name: members[i]?.name ?? `member_${i}`,
      role: members[i]?.role ?? 'student',
      ...(m.auProbabilities !== undefined ? { au: { probs: Array.from(m.auProbabilities, r6) } } : {}),
      expr: { probs: Array.from(m.exprProbabilities, r6), label: EXPR_LABELS[exprIndex] ?? String(exprIndex) },
      ...(m.valence !== undefined && m.arousal !== undefined ? { va: { valence: r6(m.valence), arousal: r6(m.arousal) } } : {}),
    };
  });
  // Always present on a model's decision; a hand-built frame (tests) may lack it.
  const u = f.uncertainty as EnsembleFrame['uncertainty'] | undefined;
  return {
    frame: ctx.frame,
    source: ctx.source,
    ...(ctx.trackId !== undefined ? { trackId: ctx.trackId } : {}),
    ...(ctx.pts !== undefined ? { pts: r6(ctx.pts) } : {}),
    ...(ctx.quality !== undefined ? { quality: ctx.quality } : {}),
    ...(f.au !== undefined
      ? {
          au: {
            probs: Array.from(f.au.probabilities, r6),
            active: f.au.active.map((a) => (a ? 1 : 0)),
            ...(u?.au ? { spread: Array.from(u.au.spread, r6) } : {}),
            ...(u?.window?.au ? { windowSpread: Array.from(u.window.au.spread, r6) } : {}),
          },
        }
      : {}),
    expr: {
      probs: Array.from(f.expr.probabilities, r6),
      label: f.expr.label,
      ...(u ? { entropy: r6(u.expr.entropy), margin: r6(u.expr.margin) } : {}),
      ...(u?.expr.agreement !== undefined ? { agreement: r6(u.expr.agreement) } : {}),
      ...(u?.window ? { windowAgreement: r6(u.window.expr.agreement) } : {}),
    },
    ...(f.va !== undefined
      ? {
          va: {
            valence: r6(f.va.valence),
            arousal: r6(f.va.arousal),
            ...(u?.va ? { std: { valence: r6(u.va.std[0]), arousal: r6(u.va.std[1]) } } : {}),
            ...(u?.window?.va ? { windowStd: { valence: r6(u.window.va.std[0]), arousal: r6(u.window.va.std[1]) } } : {}),
          },
        }
      : {}),
    ...(baseline ? { baseline: rowBaseline(f, baseline) } : {}),
    ...(memberRows !== undefined ? { members: memberRows } : {}),
  };
}

