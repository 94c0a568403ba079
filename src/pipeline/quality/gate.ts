import type { FaceQuality, GateReason } from '../../core/face-measures.js';

/**
 * The `quality:` thresholds of a stream; an absent one is off. A face failing any of them is
 * gated: it is reported (faces events, metrics) but kept out of affect analysis.
 */
export interface QualityGate {
  readonly minScore?: number;
  /** Minimum inter-ocular distance, source-frame pixels. */
  readonly minFacePx?: number;
  readonly minSharpness?: number;
  readonly maxAbsYawDeg?: number;
  readonly maxAbsPitchDeg?: number;
}

/**
 * The reasons, in GATE_REASONS order, a face fails `gate`. Pose limits need a pose: a face from a
 * detector without a mesh passes them (nothing is known to gate on).
 */
export function gateReasons(q: Omit<FaceQuality, 'gated'>, gate: QualityGate): GateReason[] {
  const out: GateReason[] = [];
  if (gate.minScore !== undefined && q.score < gate.minScore) out.push('score');
  if (gate.minFacePx !== undefined && q.interocularPx < gate.minFacePx) out.push('size');
  if (gate.minSharpness !== undefined && q.sharpness < gate.minSharpness) out.push('sharpness');
  if (gate.maxAbsYawDeg !== undefined && q.pose && Math.abs(q.pose.yaw) > gate.maxAbsYawDeg) out.push('yaw');
  if (gate.maxAbsPitchDeg !== undefined && q.pose && Math.abs(q.pose.pitch) > gate.maxAbsPitchDeg) out.push('pitch');
  return out;
}

type Thresholds = { readonly [K in keyof QualityGate]?: number | null | undefined };

/** A stream's gate: each key it sets (null = off) over the daemon's; absent keys are off. */
export function resolveGate(daemon: Thresholds, stream: Thresholds = {}): QualityGate {
  const out: { -readonly [K in keyof QualityGate]: number } = {};
  for (const key of ['minScore', 'minFacePx', 'minSharpness', 'maxAbsYawDeg', 'maxAbsPitchDeg'] as const) {
    const v = stream[key] !== undefined ? stream[key] : daemon[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}
