import { describe, expect, it } from 'vitest';
import type { TrackId } from '../../core/ids.js';
import { BASELINE_DEFAULTS, TrackBaselines } from './baselines.js';

const T1 = 1 as TrackId;
const T2 = 2 as TrackId;
const FPS = 10;

/** A deterministic noise in [−a, a] (no Math.random: the test must be repeatable). */
const noise = (i: number, a: number): number => a * Math.sin(i * 12.9898 + 78.233) * Math.cos(i * 4.1414);

describe('per-track running baselines', () => {
  it('converge to a known offset; the difference is ~0 at neutral and the injected change during an expression', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, windowSeconds: 30, minSeconds: 2 });
    const offset = [0.3, 0.1, -0.2];
    const change = [0.4, 0.5, 0.6];
    // 0–40 s neutral (offset + noise), 40–45 s "expression" (offset + change + noise), then neutral.
    const at = (i: number): { t: number; v: number[]; expressing: boolean } => {
      const t = i / FPS;
      const expressing = t >= 40 && t < 45;
      return { t, expressing, v: offset.map((o, d) => o + (expressing ? change[d]! : 0) + noise(i * 3 + d, 0.02)) };
    };
    let first: ReturnType<TrackBaselines['observe']> | undefined;
    const deltaAt = new Map<number, number[]>();
    for (let i = 0; i < 50 * FPS; i++) {
      const { t, v } = at(i);
      const r = b.observe(T1, t, v);
      first ??= r;
      if (r.values) deltaAt.set(i, v.map((x, d) => x - r.values![d]!));
      if (t >= 10 && t < 40) offset.forEach((o, d) => expect(Math.abs(r.values![d]! - o)).toBeLessThan(0.02));
    }
    // A new track starts without a baseline and says so.
    expect(first).toEqual({ state: 'none', samples: 1 });
    for (const [i, delta] of deltaAt) {
      const { t, expressing } = at(i);
      if (t < 10) continue;
      // Near zero at neutral (within the noise), the injected change during the expression.
      delta.forEach((x, d) => expect(Math.abs(x - (expressing ? change[d]! : 0))).toBeLessThan(0.05));
    }
  });

  it('reports no baseline until minSeconds of the track have been seen', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, minSeconds: 3 });
    for (let i = 0; i < 30; i++) expect(b.observe(T1, i / FPS, [0.5]).state).toBe('none');
    const r = b.observe(T1, 3, [0.5]);
    expect(r.state).toBe('running');
    expect(r.values).toEqual(Float64Array.from([0.5]));
  });

  it('takes the configured percentile over the sliding window only', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, windowSeconds: 10, minSeconds: 0, percentile: 20 });
    // 0..99 over 10 s: the 20th percentile (linear, as numpy's default) is 19.8.
    let r = b.observe(T1, 0, [0]);
    for (let i = 1; i < 100; i++) r = b.observe(T1, i / FPS, [i]);
    expect(r.values![0]).toBeCloseTo(19.8, 9);
    // 5 s later the first 50 values have left the 10 s window: 50..99 plus the new 0 over 10 s.
    for (let i = 100; i < 150; i++) r = b.observe(T1, i / FPS, [i]);
    const kept = Array.from({ length: 100 }, (_, k) => 50 + k).sort((x, y) => x - y);
    // Samples with t > now − 10 s: i in [50, 149] → 100 values, 20th percentile at 0.2·99 = 19.8.
    expect(r.samples).toBe(100);
    expect(r.values![0]).toBeCloseTo(kept[19]! + 0.8 * (kept[20]! - kept[19]!), 9);
  });

  it('calibrates one track from the next N seconds as its neutral, and leaves other tracks alone', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, windowSeconds: 60, minSeconds: 1 });
    for (let i = 0; i < 50; i++) {
      b.observe(T1, i / FPS, [0.6]);
      b.observe(T2, i / FPS, [0.6]);
    }
    expect(b.calibrate(T1, 2)).toBe(true);
    expect(b.calibrate(99 as TrackId, 2)).toBe(false);
    let r1 = b.observe(T1, 5, [0.2]);
    expect(r1.state).toBe('calibrating');
    // The running baseline stays reported until the calibration is complete.
    expect(r1.values![0]).toBeCloseTo(0.6, 9);
    for (let i = 51; i < 70; i++) r1 = b.observe(T1, i / FPS, [0.2]);
    expect(r1.state).toBe('calibrating');
    r1 = b.observe(T1, 7, [0.9]);
    expect(r1).toEqual({ state: 'calibrated', samples: 20, values: Float64Array.from([0.2]) });
    // Fixed from now on, whatever follows.
    for (let i = 71; i < 200; i++) r1 = b.observe(T1, i / FPS, [0.9]);
    expect(r1.values![0]).toBeCloseTo(0.2, 9);
    const r2 = b.observe(T2, 5, [0.6]);
    expect(r2.state).toBe('running');
    expect(r2.values![0]).toBeCloseTo(0.6, 9);
  });

  it('forgets an ended track: the same id starts over without a baseline', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, minSeconds: 0 });
    b.observe(T1, 0, [0.4]);
    expect(b.size).toBe(1);
    b.forget(T1);
    expect(b.size).toBe(0);
    expect(b.calibrate(T1, 1)).toBe(false);
  });

  it('bounds the samples held per track', () => {
    const b = new TrackBaselines({ ...BASELINE_DEFAULTS, windowSeconds: 1e6, minSeconds: 0, maxSamples: 64 });
    let r = b.observe(T1, 0, [0, 0]);
    for (let i = 1; i < 1000; i++) r = b.observe(T1, i, [i, -i]);
    expect(r.samples).toBe(64);
    // The newest 64 (936..999): median 967.5.
    expect(r.values![0]).toBeCloseTo(967.5, 9);
    expect(r.values![1]).toBeCloseTo(-967.5, 9);
  });
});
