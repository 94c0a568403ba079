import { labelled } from '../../core/affect-labels.js';
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

/** What an affect event reports, before or after smoothing. AU and VA are absent for a model without them. */
export interface AffectScores {
  readonly au?: ArrayLike<number>;
  readonly expr: ArrayLike<number>;
  readonly va?: readonly [number, number];
}

export function scoresOf(decision: EnsembleFrame): AffectScores {
  return {
    ...(decision.au ? { au: decision.au.probabilities } : {}),
    expr: decision.expr.probabilities,
    ...(decision.va ? { va: [decision.va.valence, decision.va.arousal] as const } : {}),
  };
}

/** Per-track smoothing of the probabilities and VA (before thresholds and labels are taken). */
export function smoothScores(s: AffectSmoothers, meta: FrameMeta, scores: AffectScores): AffectScores {
  const va = scores.va ? s.va.apply(meta.trackId, meta.pts, scores.va) : undefined;
  return {
    ...(scores.au ? { au: s.au.apply(meta.trackId, meta.pts, scores.au) } : {}),
    expr: s.expr.apply(meta.trackId, meta.pts, scores.expr),
    ...(va ? { va: [va[0]!, va[1]!] as const } : {}),
  };
}

export interface AffectEventContext {
  readonly thresholds: readonly number[];
  readonly model: { readonly id: string; readonly version: string };
}

/** One affect event from (smoothed or raw) scores. A model without AU or VA publishes neither: no zeros stand in. */
export function affectEventOf(meta: FrameMeta, scores: AffectScores, ctx: AffectEventContext): AffectEvent {
  const { au, expr, va } = scores;
  const auOut: AffectEvent['au'] = au && {
    probs: labelled(AU_LABELS, (_, j) => r5(au[j]!)),
    active: labelled(AU_LABELS, (_, j) => au[j]! > ctx.thresholds[j]!),
  };
  const exprProbs = labelled(EXPR_LABELS, (_, j) => r5(expr[j]!));
  return {
    type: 'affect',
    streamId: meta.streamId,
    trackId: meta.trackId,
    frame: meta.frame,
    pts: Math.round(meta.pts * 1e4) / 1e4,
    ts: new Date(meta.wallTime).toISOString(),
    ...(auOut ? { au: auOut } : {}),
    expr: { probs: exprProbs, label: EXPR_LABELS[argmax(expr)]! },
    ...(va ? { va: { valence: r5(va[0]), arousal: r5(va[1]) } } : {}),
    model: ctx.model,
    latencyMs: Math.round((performance.now() - meta.decodedAt) * 10) / 10,
  };
}

/**
 * One affect event from an ensemble decision. Smoothing (when on) applies to the probabilities and
 * VA before the thresholds and the label are taken, so active AUs and labels follow the smoothed
 * signal.
 */
export function toAffectEvent(meta: FrameMeta, decision: EnsembleFrame, ctx: AffectEventContext & { readonly smoothers?: AffectSmoothers }): AffectEvent {
  const raw = scoresOf(decision);
  return affectEventOf(meta, ctx.smoothers ? smoothScores(ctx.smoothers, meta, raw) : raw, ctx);
}
