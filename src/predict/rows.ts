/**
 * The output record of `daemon predict`, built from the ensemble's decision: one per frame (per
 * frame and track for a video). Its CSV columns are core/prediction-csv.ts's, shared with the
 * events.csv of a recording.
 */
import { EXPR_LABELS, argmax, type EnsembleFrame, type MemberFrame } from '../models/seed/index.js';
import type { MemberRow, PredictionRow } from '../core/prediction-csv.js';

export { csvHeader, csvLine, csvValues, type CsvLayout, type MemberRow, type PredictionRow } from '../core/prediction-csv.js';

/** Six decimals: far below the models' precision (1e-4 parity), and keeps rows short. */
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export interface RowContext {
  readonly frame: number;
  readonly source: string;
  readonly trackId?: number;
  readonly pts?: number;
}

export function toRow(ctx: RowContext, f: EnsembleFrame, members: readonly { readonly name: string; readonly role: string }[]): PredictionRow {
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
  return {
    frame: ctx.frame,
    source: ctx.source,
    ...(ctx.trackId !== undefined ? { trackId: ctx.trackId } : {}),
    ...(ctx.pts !== undefined ? { pts: r6(ctx.pts) } : {}),
    ...(f.au !== undefined ? { au: { probs: Array.from(f.au.probabilities, r6), active: f.au.active.map((a) => (a ? 1 : 0)) } } : {}),
    expr: { probs: Array.from(f.expr.probabilities, r6), label: f.expr.label },
    ...(f.va !== undefined ? { va: { valence: r6(f.va.valence), arousal: r6(f.va.arousal) } } : {}),
    ...(memberRows !== undefined ? { members: memberRows } : {}),
  };
}

