/**
 * How far to trust one decision: the one definition of the uncertainty fields that the live
 * `affect` events and `daemon predict` rows carry (docs/events.md, "Uncertainty").
 *
 * Computed where the members' outputs are averaged anyway (`combineMembers`), so the per-member
 * numbers never leave that function: only these few summaries travel on (across the affect
 * worker's message port too), whether or not `includeMembers` keeps the members.
 *
 * - member spread: the population standard deviation (÷ k, not k − 1: the members are the whole
 *   ensemble, not a sample) of the k members' AU probabilities and of their VA values — for k ≥ 2;
 * - member agreement: the share of members whose own most probable expression is the ensemble's
 *   label — for k ≥ 2;
 * - entropy of the (mean) EXPR distribution in nats divided by ln 7, so 0 is certain and 1 uniform,
 *   and the margin between its two largest probabilities — for every model, single ones too;
 * - CNN-RNN windows (`windowUncertainty`): the same spread taken over the positions of the window
 *   that decided the frame, as the model ran it (a short track's padded window included), and the
 *   share of its positions whose label is the frame's.
 */
import { TASK_OUTPUTS } from './constants.js';
import { argmax, type AffectFrame, type MemberFrame } from './decode.js';

export interface WindowSpread {
  /** Positions in the window (the model's seqLen). */
  readonly size: number;
  readonly au?: { readonly spread: Float64Array };
  /** Share of the window's positions whose EXPR label is this frame's. */
  readonly expr: { readonly agreement: number };
  readonly va?: { readonly std: readonly [number, number] };
}

export interface FrameUncertainty {
  /** Members that voted on the frame (k). */
  readonly members: number;
  /** Per-AU spread of the members' probabilities (k ≥ 2, AU provided). */
  readonly au?: { readonly spread: Float64Array };
  readonly expr: {
    /** Normalised entropy of the mean distribution, in [0, 1]. */
    readonly entropy: number;
    /** Largest minus second-largest mean probability, in [0, 1]. */
    readonly margin: number;
    /** Share of members voting the ensemble's label (k ≥ 2). */
    readonly agreement?: number;
  };
  /** Spread of the members' valence and arousal (k ≥ 2, VA provided). */
  readonly va?: { readonly std: readonly [number, number] };
  /** CNN-RNN models: the spread of the deciding window's outputs. */
  readonly window?: WindowSpread;
}

const LN_EXPR = Math.log(TASK_OUTPUTS.EXPR);

/** Σ −p ln p / ln n over a distribution (0 ln 0 = 0), clamped into [0, 1] against rounding. */
export function normalisedEntropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let j = 0; j < p.length; j++) {
    const v = p[j]!;
    if (v > 0) h -= v * Math.log(v);
  }
  return Math.min(1, Math.max(0, h / (p.length === TASK_OUTPUTS.EXPR ? LN_EXPR : Math.log(p.length))));
}

/** Largest minus second-largest value. */
export function topMargin(p: ArrayLike<number>): number {
  let first = -Infinity;
  let second = -Infinity;
  for (let j = 0; j < p.length; j++) {
    const v = p[j]!;
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) second = v;
  }
  return second === -Infinity ? 1 : first - second;
}

/**
 * Population std of `xs`, shifted by its first value (the usual guard against cancellation): equal
 * values give exactly 0, which a mean taken as a sum of quotients would not.
 */
function std(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n === 0) return 0;
  const x0 = xs[0]!;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - x0;
    s += d;
    s2 += d * d;
  }
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

/** Per column j, the std of rows[·][j]. */
function columnStd(rows: readonly ArrayLike<number>[], width: number): Float64Array {
  const out = new Float64Array(width);
  const col = new Float64Array(rows.length);
  for (let j = 0; j < width; j++) {
    rows.forEach((r, i) => (col[i] = r[j]!));
    out[j] = std(col);
  }
  return out;
}

/**
 * The uncertainty of one ensemble decision, from the members that voted and the decision taken on
 * their means (`decideFrame`'s output).
 */
export function memberUncertainty(members: readonly MemberFrame[], decided: AffectFrame): FrameUncertainty {
  const k = members.length;
  const exprProbs = decided.expr.probabilities;
  const expr = { entropy: normalisedEntropy(exprProbs), margin: topMargin(exprProbs) };
  if (k < 2) return { members: k, expr };
  let votes = 0;
  for (const m of members) if (argmax(m.exprProbabilities) === decided.expr.index) votes++;
  const withAu = decided.au ? members.filter((m) => m.auProbabilities !== undefined) : [];
  const withVa = decided.va ? members.filter((m) => m.valence !== undefined && m.arousal !== undefined) : [];
  return {
    members: k,
    ...(decided.au && withAu.length >= 2
      ? { au: { spread: columnStd(withAu.map((m) => m.auProbabilities!), TASK_OUTPUTS.AU) } }
      : {}),
    expr: { ...expr, agreement: votes / k },
    ...(decided.va && withVa.length >= 2
      ? { va: { std: [std(withVa.map((m) => m.valence!)), std(withVa.map((m) => m.arousal!))] as const } }
      : {}),
  };
}

/** The spread of one window's decisions over its positions, and each label's share of them. */
export function windowUncertainty(positions: readonly AffectFrame[]): {
  readonly size: number;
  readonly au?: { readonly spread: Float64Array };
  readonly va?: { readonly std: readonly [number, number] };
  readonly expr: { labelShare(index: number): number };
} {
  const n = positions.length;
  const counts = new Float64Array(TASK_OUTPUTS.EXPR);
  for (const p of positions) counts[p.expr.index] = counts[p.expr.index]! + 1;
  const expr = { labelShare: (index: number): number => (n === 0 ? 0 : (counts[index] ?? 0) / n) };
  const aus = positions.flatMap((p) => (p.au ? [p.au.probabilities] : []));
  let au: { spread: Float64Array } | undefined;
  if (n > 0 && aus.length === n) au = { spread: columnStd(aus, TASK_OUTPUTS.AU) };
  const vas = positions.flatMap((p) => (p.va ? [p.va] : []));
  let va: { std: readonly [number, number] } | undefined;
  if (n > 0 && vas.length === n) va = { std: [std(vas.map((x) => x.valence)), std(vas.map((x) => x.arousal))] };
  return { size: n, ...(au ? { au } : {}), ...(va ? { va } : {}), expr };
}

/** The window's spread as one of its frames reports it (its own label's share). */
export function windowSpreadOf(w: ReturnType<typeof windowUncertainty>, frame: AffectFrame): WindowSpread {
  return { size: w.size, ...(w.au ? { au: w.au } : {}), expr: { agreement: w.expr.labelShare(frame.expr.index) }, ...(w.va ? { va: w.va } : {}) };
}
