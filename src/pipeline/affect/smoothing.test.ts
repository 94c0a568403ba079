import { describe, expect, it } from 'vitest';
import type { TrackId } from '../../core/ids.js';
import { createSmoother } from './smoothing.js';

const T1 = 1 as TrackId;
const T2 = 2 as TrackId;
const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/** Casiez's α for cutoff fc over dt: 1 / (1 + τ/dt), τ = 1/(2π·fc). */
const euroAlpha = (fc: number, dt: number): number => 1 / (1 + 1 / (2 * Math.PI * fc) / dt);

describe("createSmoother('off')", () => {
  it('is the identity, constraint or not', () => {
    const s = createSmoother('off', { constraint: 'simplex' });
    const v = new Float32Array([0.2, 0.3, 0.6]); // deliberately not normalised
    expect(s.apply(T1, 0, v)).toEqual([...v]);
    expect(s.apply(T1, 0.1, [5, -1])).toEqual([5, -1]);
  });
});

describe("createSmoother('ema')", () => {
  it('first sample passes through; a step follows 1 − exp(−t/τ) at regular spacing', () => {
    const s = createSmoother('ema', { tauSeconds: 0.25 });
    expect(s.apply(T1, 0, [0])).toEqual([0]);
    // α = 1 − exp(−0.1/0.25) = 0.329679953964…
    expect(s.apply(T1, 0.1, [1])[0]).toBeCloseTo(0.3296799539643607, 12);
    // 1 − (1 − α)² = 1 − exp(−0.8)
    expect(s.apply(T1, 0.2, [1])[0]).toBeCloseTo(0.5506710358827784, 12);
  });

  it('accounts for irregular spacing: the step response depends on elapsed time only', () => {
    const a = createSmoother('ema', { tauSeconds: 0.25 });
    const b = createSmoother('ema', { tauSeconds: 0.25 });
    a.apply(T1, 0, [0]);
    b.apply(T1, 0, [0]);
    for (const t of [0.033, 0.1, 0.4, 0.5]) a.apply(T1, t, [1]); // jittery, with a gap
    const y = b.apply(T1, 0.5, [1]); // one big step
    // Both equal 1 − exp(−0.5/0.25) = 1 − e⁻².
    expect(a.apply(T1, 0.5, [1])[0]).toBeCloseTo(0.8646647167633873, 12); // duplicate t: held
    expect(y[0]).toBeCloseTo(0.8646647167633873, 12);
  });

  it('a fixed alpha ignores timestamps', () => {
    const s = createSmoother('ema', { alpha: 0.5 });
    s.apply(T1, 0, [0, 4]);
    expect(s.apply(T1, 10, [1, 0])).toEqual([0.5, 2]);
    expect(s.apply(T1, 10.001, [1, 0])).toEqual([0.75, 1]);
  });

  it('keeps tracks apart; forget() and a length change restart the filter', () => {
    const s = createSmoother('ema', { alpha: 0.5 });
    s.apply(T1, 0, [0]);
    s.apply(T2, 0, [10]);
    expect(s.apply(T1, 1, [1])).toEqual([0.5]);
    expect(s.apply(T2, 1, [0])).toEqual([5]);
    expect(s.size).toBe(2);
    s.forget(T1);
    expect(s.size).toBe(1);
    expect(s.apply(T1, 2, [1])).toEqual([1]); // fresh: passes through
    expect(s.apply(T2, 2, [1, 1])).toEqual([1, 1]); // new length: fresh
  });

  it('keeps a softmax vector on the simplex and AU probabilities in [0, 1]', () => {
    const probs = createSmoother('ema', { tauSeconds: 0.2, constraint: 'simplex' });
    const au = createSmoother('ema', { tauSeconds: 0.2, constraint: 'unit' });
    const seq = [
      [0.7, 0.2, 0.1],
      [0.05, 0.05, 0.9],
      [0.33, 0.33, 0.34],
      [1, 0, 0],
    ];
    seq.forEach((v, i) => {
      expect(sum(probs.apply(T1, i / 30, new Float32Array(v)))).toBeCloseTo(1, 12);
      for (const p of au.apply(T1, i / 30, v)) expect(p >= 0 && p <= 1).toBe(true);
    });
  });

  it('rejects bad parameters', () => {
    expect(() => createSmoother('ema', { tauSeconds: 0 })).toThrow(RangeError);
    expect(() => createSmoother('ema', { alpha: 1.5 })).toThrow(RangeError);
  });
});

describe("createSmoother('one-euro')", () => {
  it('with beta = 0 is a low-pass at minCutoff (hand-computed step)', () => {
    const s = createSmoother('one-euro', { minCutoff: 1, beta: 0, dCutoff: 1 });
    const a = euroAlpha(1, 0.1); // 1 / (1 + 1.5915…) = 0.385869545…
    expect(a).toBeCloseTo(0.3858695450950375, 14);
    s.apply(T1, 0, [0]);
    expect(s.apply(T1, 0.1, [1])[0]).toBeCloseTo(a, 12);
    expect(s.apply(T1, 0.2, [1])[0]).toBeCloseTo(0.622843784358224, 12); // 1 − (1 − a)²
  });

  it('opens the cutoff with speed (beta = 1), irregular timestamps (hand-computed)', () => {
    const s = createSmoother('one-euro', { minCutoff: 1, beta: 1, dCutoff: 1 });
    s.apply(T1, 0, [0]);
    // t=0.1: ẋ = (1−0)/0.1 = 10; ẋ̂ = 0 + α_d(0.1)·10 = 3.858695…; fc = 4.858695…; α = 0.753257…
    expect(s.apply(T1, 0.1, [1])[0]).toBeCloseTo(0.7532575181149229, 12);
    // t=0.2: ẋ = (1−0.753258)/0.1; ẋ̂ = 3.321846…; fc = 4.321846…; x̂ = 0.933591…
    expect(s.apply(T1, 0.2, [1])[0]).toBeCloseTo(0.9335909750997666, 12);
    // t=0.35 (Δt = 0.15): ẋ̂ = 1.924916…; α = 0.733807…; x̂ = 0.982322…
    expect(s.apply(T1, 0.35, [1])[0]).toBeCloseTo(0.9823223619482009, 12);
  });

  it('reacts faster than the minCutoff low-pass to a jump, and is steady on a constant', () => {
    const fast = createSmoother('one-euro', { minCutoff: 1, beta: 1 });
    const slow = createSmoother('one-euro', { minCutoff: 1, beta: 0 });
    fast.apply(T1, 0, [0]);
    slow.apply(T1, 0, [0]);
    expect(fast.apply(T1, 1 / 30, [1])[0]!).toBeGreaterThan(slow.apply(T1, 1 / 30, [1])[0]!);
    const c = createSmoother('one-euro');
    for (let i = 0; i < 10; i++) expect(c.apply(T1, i / 10, [0.4])).toEqual([0.4]);
  });

  it('renormalises probability vectors whose components move at different speeds', () => {
    const s = createSmoother('one-euro', { minCutoff: 0.5, beta: 2, constraint: 'simplex' });
    const frames = [
      [0.9, 0.05, 0.05],
      [0.1, 0.1, 0.8],
      [0.1, 0.85, 0.05],
      [0.3, 0.3, 0.4],
    ];
    frames.forEach((v, i) => expect(sum(s.apply(T1, i * 0.07, v))).toBeCloseTo(1, 12));
    const va = createSmoother('one-euro', { constraint: 'signed-unit' });
    va.apply(T1, 0, [-1, 1]);
    for (const v of va.apply(T1, 0.1, [1, -1])) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });

  it('resets per track', () => {
    const s = createSmoother('one-euro', { beta: 0 });
    s.apply(T1, 0, [0]);
    s.apply(T1, 0.1, [1]);
    s.forget(T1);
    expect(s.apply(T1, 0.2, [0.3])).toEqual([0.3]);
    expect(s.apply(T2, 0.2, [0.7])).toEqual([0.7]);
  });
});
