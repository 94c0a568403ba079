/**
 * Ensembling the seed's `test.py` / `run_pretrained_model.py` way (spec §6.3): mean AU
 * probabilities then thresholds, mean EXPR softmax then argmax, mean of per-member VA
 * expectations. (The api averages raw logits instead; that variant is not reproduced.)
 */
import type { Tensor } from '../tf.js';
import { TASK_OUTPUTS, TASKS } from './constants.js';
import { decideFrame, decodeMemberFrame, type AffectFrame, type MemberFrame, type Numbers } from './decode.js';
import { SeedModelError } from './errors.js';
import type { FrameCache } from './frame-cache.js';
import type { PerTask } from './types.js';
import { memberUncertainty, type FrameUncertainty } from './uncertainty.js';

/** One member's logits for N frames, flattened row-major ([N, n] or [B, T, n] → N = B·T). */
export type MemberLogits = PerTask<Float32Array>;

export interface EnsembleFrame extends AffectFrame {
  /** Per-member decoded outputs, present when asked for. */
  readonly members?: readonly MemberFrame[];
  /** How far to trust the decision (uncertainty.ts): summaries of the members, always present. */
  readonly uncertainty: FrameUncertainty;
}

export interface EnsembleOptions {
  readonly thresholds: Numbers;
  readonly includeMembers?: boolean;
}

function frameCount(m: MemberLogits): number {
  const n = m.EXPR.length / TASK_OUTPUTS.EXPR;
  for (const t of TASKS) {
    // Empty AU / VA logits: the member does not provide the task.
    if ((m[t].length !== n * TASK_OUTPUTS[t] && !(t !== 'EXPR' && m[t].length === 0)) || !Number.isInteger(n)) {
      throw new SeedModelError('VA_ERR_MODEL_INPUT', `member logits disagree on the frame count (${t}: ${m[t].length} values)`);
    }
  }
  return n;
}

/**
 * The per-frame decision of a CNN ensemble from its cached member outputs: every runner and every
 * thread decides with this one rule (a member without AU / VA logits does not vote on them).
 */
export function decideCachedFrame(frame: FrameCache, opts: EnsembleOptions): EnsembleFrame {
  return combineMembers(frame.map((m) => decodeMemberFrame(m.logits)), opts);
}

/**
 * Mean of per-member decoded frames, then the thresholds and argmax. Each task is averaged over
 * the members that provide it; a task no member provides is left out of the decision.
 */
export function combineMembers(members: readonly MemberFrame[], opts: EnsembleOptions): EnsembleFrame {
  const k = members.length;
  if (k === 0) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'an ensemble needs at least one member');
  const expr = new Float64Array(TASK_OUTPUTS.EXPR);
  for (const m of members) m.exprProbabilities.forEach((p, j) => (expr[j] = (expr[j] ?? 0) + p / k));
  const withAu = members.filter((m) => m.auProbabilities !== undefined);
  let au: Float64Array | undefined;
  if (withAu.length > 0) {
    au = new Float64Array(TASK_OUTPUTS.AU);
    for (const m of withAu) m.auProbabilities?.forEach((p, j) => (au![j] = (au![j] ?? 0) + p / withAu.length));
  }
  const withVa = members.filter((m) => m.valence !== undefined && m.arousal !== undefined);
  const va =
    withVa.length > 0
      ? { valence: withVa.reduce((s, m) => s + (m.valence ?? 0), 0) / withVa.length, arousal: withVa.reduce((s, m) => s + (m.arousal ?? 0), 0) / withVa.length }
      : undefined;
  const decided = decideFrame(au, expr, va, opts.thresholds);
  const frame = { ...decided, uncertainty: memberUncertainty(members, decided) };
  return opts.includeMembers === true ? { ...frame, members } : frame;
}

/** N frames of logits from each member → N ensemble decisions. */
export function ensembleLogits(perMember: readonly MemberLogits[], opts: EnsembleOptions): EnsembleFrame[] {
  if (perMember.length === 0) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'an ensemble needs at least one member');
  const counts = perMember.map(frameCount);
  const n = counts[0] ?? 0;
  if (counts.some((c) => c !== n)) throw new SeedModelError('VA_ERR_MODEL_INPUT', `members disagree on the frame count: ${counts.join(', ')}`);
  const frames: EnsembleFrame[] = [];
  for (let i = 0; i < n; i++) {
    const decoded = perMember.map((m) =>
      decodeMemberFrame({
        EXPR: m.EXPR.subarray(i * TASK_OUTPUTS.EXPR, (i + 1) * TASK_OUTPUTS.EXPR),
        AU: m.AU.subarray(i * TASK_OUTPUTS.AU, (i + 1) * TASK_OUTPUTS.AU),
        VA: m.VA.subarray(i * TASK_OUTPUTS.VA, (i + 1) * TASK_OUTPUTS.VA),
      }),
    );
    frames.push(combineMembers(decoded, opts));
  }
  return frames;
}

/** Downloads per-task logit tensors (any rank, last axis = task width). Does not dispose them. */
export async function readLogits(logits: PerTask<Tensor>): Promise<MemberLogits> {
  const [EXPR, AU, VA] = await Promise.all(TASKS.map((t) => logits[t].data<'float32'>()));
  if (EXPR === undefined || AU === undefined || VA === undefined) throw new Error('unreachable: missing task logits');
  return { EXPR, AU, VA };
}

