import type { TrackId } from '../../core/ids.js';

export type SmoothingKind = 'off' | 'ema' | 'one-euro';

/**
 * What the smoothed vector is, so its invariant survives smoothing:
 * - `simplex`: a softmax distribution (expression probs, VA bins) — renormalised to sum to 1,
 *   because One-Euro filters each component with its own cutoff and the sum drifts;
 * - `unit`: independent probabilities (AU sigmoids) — clamped to [0, 1];
 * - `signed-unit`: valence / arousal — clamped to [−1, 1];
 * - `none`: left alone.
 * Both filters are convex blends of the previous output and the new sample, so ranges hold in
 * exact arithmetic; the clamps only absorb rounding.
 */
export type SmoothingConstraint = 'simplex' | 'unit' | 'signed-unit' | 'none';

export interface SmoothingParams {
  /**
   * EMA time constant in seconds (default 0.25). The weight of a sample is α = 1 − exp(−Δt/τ), so
   * irregular frame spacing (dropped or skipped frames, analysisFps changes) smooths the same
   * in time: ≈ 0.125 at 30 fps, ≈ 0.33 at 10 fps. Ignored when `alpha` is set.
   */
  readonly tauSeconds?: number;
  /** Fixed EMA weight per sample in (0, 1]; ignores timestamps. Prefer `tauSeconds`. */
  readonly alpha?: number;
  /**
   * One-Euro (Casiez et al., CHI 2012) minimum cutoff in Hz (default 1.0): the smoothing of a
   * steady signal. Lower = smoother and laggier.
   */
  readonly minCutoff?: number;
  /**
   * One-Euro speed coefficient, Hz per (unit/s) of the filtered derivative (default 1.0): how
   * fast the cutoff opens on a real change, e.g. a 0.5 jump in a probability within one frame.
   */
  readonly beta?: number;
  /** One-Euro cutoff of the derivative's low-pass, Hz (default 1.0, as in the paper). */
  readonly dCutoff?: number;
  /** Default `none`. */
  readonly constraint?: SmoothingConstraint;
}

export const SMOOTHING_DEFAULTS = { tauSeconds: 0.25, minCutoff: 1, beta: 1, dCutoff: 1 } as const;

/** Per-track smoothing of one output (one instance per output and stream). */
export interface Smoother<K = TrackId> {
  /**
   * Smooths `values` observed at time `t` (seconds, e.g. pts) for `key`. The first sample of a
   * key, or one whose length differs from the last, passes through and restarts the filter. A
   * sample not later than the previous one (duplicate pts) returns the previous output unchanged.
   */
  apply(key: K, t: number, values: ArrayLike<number>): number[];
  /** Forgets a key's state (track ended). */
  forget(key: K): void;
  readonly size: number;
}

interface State {
  t: number;
  /** Filtered values (before the constraint, so the filters stay textbook). */
  x: Float64Array;
  /** One-Euro: filtered derivative. */
  dx: Float64Array;
  out: number[];
}

/** Weight of a first-order low-pass with cutoff `fc` Hz over `dt` seconds (Casiez's α). */
function euroAlpha(fc: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * fc);
  return 1 / (1 + tau / dt);
}

function constrain(values: Float64Array, c: SmoothingConstraint): number[] {
  const out = Array.from(values);
  switch (c) {
    case 'none':
      return out;
    case 'unit':
      return out.map((v) => Math.min(1, Math.max(0, v)));
    case 'signed-unit':
      return out.map((v) => Math.min(1, Math.max(-1, v)));
    case 'simplex': {
      const clipped = out.map((v) => Math.max(0, v));
      const sum = clipped.reduce((a, b) => a + b, 0);
      return sum > 0 ? clipped.map((v) => v / sum) : clipped.map(() => 1 / clipped.length);
    }
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`${name} must be a positive number, got ${x}`);
  return x;
}

export function createSmoother<K = TrackId>(kind: SmoothingKind, params: SmoothingParams = {}): Smoother<K> {
  const constraint = params.constraint ?? 'none';
  if (kind === 'off') {
    // Identity, not even the constraint: with smoothing off, live must equal offline exactly.
    return { apply: (_key, _t, values) => Array.from(values), forget: () => {}, size: 0 };
  }

  let step: (s: State, dt: number, v: ArrayLike<number>) => void;
  if (kind === 'ema') {
    const fixed = params.alpha;
    if (fixed !== undefined && !(fixed > 0 && fixed <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${fixed}`);
    const tau = positive('tauSeconds', params.tauSeconds, SMOOTHING_DEFAULTS.tauSeconds);
    step = (s, dt, v) => {
      const a = fixed ?? 1 - Math.exp(-dt / tau);
      for (let i = 0; i < s.x.length; i++) s.x[i] = s.x[i]! + a * (v[i]! - s.x[i]!);
    };
  } else {
    const minCutoff = positive('minCutoff', params.minCutoff, SMOOTHING_DEFAULTS.minCutoff);
    const dCutoff = positive('dCutoff', params.dCutoff, SMOOTHING_DEFAULTS.dCutoff);
    const beta = params.beta ?? SMOOTHING_DEFAULTS.beta;
    if (!(beta >= 0) || !Number.isFinite(beta)) throw new RangeError(`beta must be ≥ 0, got ${beta}`);
    const ad = (dt: number): number => euroAlpha(dCutoff, dt);
    step = (s, dt, v) => {
      const aD = ad(dt);
      for (let i = 0; i < s.x.length; i++) {
        const prev = s.x[i]!;
        // Derivative against the previous filtered value, as in the paper's reference code.
        const d = (v[i]! - prev) / dt;
        const dHat = s.dx[i]! + aD * (d - s.dx[i]!);
        s.dx[i] = dHat;
        const a = euroAlpha(minCutoff + beta * Math.abs(dHat), dt);
        s.x[i] = prev + a * (v[i]! - prev);
      }
    };
  }

  const states = new Map<K, State>();
  return {
    apply(key, t, values) {
      const s = states.get(key);
      if (!s || s.x.length !== values.length) {
        const x = Float64Array.from(values);
        const fresh: State = { t, x, dx: new Float64Array(x.length), out: constrain(x, constraint) };
        states.set(key, fresh);
        return [...fresh.out];
      }
      const dt = t - s.t;
      if (!(dt > 0)) return [...s.out];
      step(s, dt, values);
      s.t = t;
      s.out = constrain(s.x, constraint);
      return [...s.out];
    },
    forget(key) {
      states.delete(key);
    },
    get size() {
      return states.size;
    },
  };
}
