import { labelled } from '../../core/affect-labels.js';
import type { AffectEvent } from '../../core/records.js';
import { AU_LABELS, EXPR_LABELS, argmax, normalisedEntropy, topMargin, type EnsembleFrame, type FrameUncertainty } from '../../models/seed/index.js';
import type { Smoother } from './smoothing.js';
import { splitBaseline } from './baseline-affect.js';
import type { BaselineReport } from './baselines.js';
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
  /** Of the model's own decision for the frame: smoothing passes it through untouched (docs/events.md). */
  readonly uncertainty?: FrameUncertainty;
  /** The track's baseline of these (published) values, when baselines are kept. */
  readonly baseline?: BaselineReport;
}

export function scoresOf(decision: EnsembleFrame): AffectScores {
  return {
    ...(decision.au ? { au: decision.au.probabilities } : {}),
    expr: decision.expr.probabilities,
    ...(decision.va ? { va: [decision.va.valence, decision.va.arousal] as const } : {}),
    uncertainty: decision.uncertainty,
  };
}

/** Per-track smoothing of the probabilities and VA (before thresholds and labels are taken). */
export function smoothScores(s: AffectSmoothers, meta: FrameMeta, scores: AffectScores): AffectScores {
  const va = scores.va ? s.va.apply(meta.trackId, meta.pts, scores.va) : undefined;
  return {
    ...(scores.au ? { au: s.au.apply(meta.trackId, meta.pts, scores.au) } : {}),
    expr: s.expr.apply(meta.trackId, meta.pts, scores.expr),
    ...(va ? { va: [va[0]!, va[1]!] as const } : {}),
    ...(scores.uncertainty ? { uncertainty: scores.uncertainty } : {}),
  };
}

export interface AffectEventContext {
  readonly thresholds: readonly number[];
  readonly model: { readonly id: string; readonly version: string };
}

/** One affect event from (smoothed or raw) scores. A model without AU or VA publishes neither: no zeros stand in. */
export function affectEventOf(meta: FrameMeta, scores: AffectScores, ctx: AffectEventContext): AffectEvent {
  const { au, expr, va } = scores;
  const u = scores.uncertainty;
  const auSpread = u?.au?.spread;
  const auWindow = u?.window?.au?.spread;
  const auOut: AffectEvent['au'] = au && {
    probs: labelled(AU_LABELS, (_, j) => r5(au[j]!)),
    active: labelled(AU_LABELS, (_, j) => au[j]! > ctx.thresholds[j]!),
    ...(auSpread ? { spread: labelled(AU_LABELS, (_, j) => r5(auSpread[j]!)) } : {}),
    ...(auWindow ? { windowSpread: labelled(AU_LABELS, (_, j) => r5(auWindow[j]!)) } : {}),
  };
  const exprProbs = labelled(EXPR_LABELS, (_, j) => r5(expr[j]!));
  const vaStd = u?.va?.std;
  const vaWindow = u?.window?.va?.std;
  return {
    type: 'affect',
    streamId: meta.streamId,
    trackId: meta.trackId,
    frame: meta.frame,
    pts: Math.round(meta.pts * 1e4) / 1e4,
    ts: new Date(meta.wallTime).toISOString(),
    ...(auOut ? { au: auOut } : {}),
    expr: {
      probs: exprProbs,
      label: EXPR_LABELS[argmax(expr)]!,
      // Without the model's decision (a test's bare scores), of the distribution given.
      entropy: r5(u ? u.expr.entropy : normalisedEntropy(expr)),
      margin: r5(u ? u.expr.margin : topMargin(expr)),
      ...(u?.expr.agreement !== undefined ? { agreement: r5(u.expr.agreement) } : {}),
      ...(u?.window ? { windowAgreement: r5(u.window.expr.agreement) } : {}),
    },
    ...(va
      ? {
          va: {
            valence: r5(va[0]),
            arousal: r5(va[1]),
            ...(vaStd ? { std: { valence: r5(vaStd[0]), arousal: r5(vaStd[1]) } } : {}),
            ...(vaWindow ? { windowStd: { valence: r5(vaWindow[0]), arousal: r5(vaWindow[1]) } } : {}),
          },
        }
      : {}),
    ...(scores.baseline ? { baseline: baselineOf(scores, scores.baseline) } : {}),
    model: ctx.model,
    latencyMs: Math.round((performance.now() - meta.decodedAt) * 10) / 10,
  };
}

/** An event's `baseline`: the track's baseline of each output and the output's difference from it. */
function baselineOf(scores: AffectScores, report: BaselineReport): NonNullable<AffectEvent['baseline']> {
  if (!report.values) return { state: report.state, samples: report.samples };
  const b = splitBaseline(report.values, scores);
  const { au, va } = scores;
  return {
    state: report.state,
    samples: report.samples,
    ...(au && b.au
      ? { au: { probs: labelled(AU_LABELS, (_, j) => r5(b.au![j]!)), delta: labelled(AU_LABELS, (_, j) => r5(au[j]! - b.au![j]!)) } }
      : {}),
    expr: { probs: labelled(EXPR_LABELS, (_, j) => r5(b.expr[j]!)), delta: labelled(EXPR_LABELS, (_, j) => r5(scores.expr[j]! - b.expr[j]!)) },
    ...(va && b.va
      ? { va: { valence: r5(b.va[0]), arousal: r5(b.va[1]), delta: { valence: r5(va[0] - b.va[0]), arousal: r5(va[1] - b.va[1]) } } }
      : {}),
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
