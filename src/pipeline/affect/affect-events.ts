import type { AffectEvent } from '../../core/records.js';
import { AU_LABELS, EXPR_LABELS, argmax, type EnsembleFrame } from '../../models/seed/index.js';
import type { Smoother } from './smoothing.js';
import type { TrackId } from '../../core/ids.js';

export interface FrameMeta {
  readonly streamId: string;
  readonly trackId: TrackId;
  readonly frame: number;
  readonly pts: number;
  readonly wallTime: number;
  readonly decodedAt: number;
}

export interface AffectSmoothers {
  readonly au: Smoother;
  readonly expr: Smoother;
  readonly va: Smoother;
}

const r5 = (v: number): number => Math.round(v * 1e5) / 1e5;

/**
 * One affect event from an ensemble decision. Smoothing (when on) applies to the probabilities and
 * VA before the thresholds and the label are taken, so active AUs and labels follow the smoothed
 * signal.
 */
export function toAffectEvent(
  meta: FrameMeta,
  decision: EnsembleFrame,
  ctx: { readonly thresholds: readonly number[]; readonly model: { readonly id: string; readonly version: string }; readonly smoothers?: AffectSmoothers },
): AffectEvent {
  const s = ctx.smoothers;
  // A model without AU or VA (a packaged expression classifier) publishes neither: no zeros stand in.
  let au: ArrayLike<number> | undefined = decision.au?.probabilities;
  let expr: ArrayLike<number> = decision.expr.probabilities;
  let va: ArrayLike<number> | undefined = decision.va ? [decision.va.valence, decision.va.arousal] : undefined;
  if (s) {
    if (au) au = s.au.apply(meta.trackId, meta.pts, au);
    expr = s.expr.apply(meta.trackId, meta.pts, expr);
    if (va) va = s.va.apply(meta.trackId, meta.pts, va);
  }
  let auOut: AffectEvent['au'];
  if (au) {
    const probs: Record<string, number> = {};
    const active: Record<string, boolean> = {};
    AU_LABELS.forEach((label, j) => {
      probs[label] = r5(au[j]!);
      active[label] = au[j]! > ctx.thresholds[j]!;
    });
    auOut = { probs, active };
  }
  const exprProbs: Record<string, number> = {};
  EXPR_LABELS.forEach((label, j) => (exprProbs[label] = r5(expr[j]!)));
  return {
    type: 'affect',
    streamId: meta.streamId,
    trackId: meta.trackId,
    frame: meta.frame,
    pts: Math.round(meta.pts * 1e4) / 1e4,
    ts: new Date(meta.wallTime).toISOString(),
    ...(auOut ? { au: auOut } : {}),
    expr: { probs: exprProbs, label: EXPR_LABELS[argmax(expr)]! },
    ...(va ? { va: { valence: r5(va[0]!), arousal: r5(va[1]!) } } : {}),
    model: ctx.model,
    latencyMs: Math.round((performance.now() - meta.decodedAt) * 10) / 10,
  };
}
