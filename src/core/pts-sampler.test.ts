import { describe, expect, it } from 'vitest';
import { PtsSampler } from './pts-sampler.js';

const keepAll = (s: PtsSampler, pts: number[]): number[] => pts.filter((p) => s.keep(p));

describe('PtsSampler', () => {
  it('keeps every third frame of 29.97 fps at 10 fps, without drift', () => {
    const pts = Array.from({ length: 300 }, (_, i) => i / 29.97);
    const kept = keepAll(new PtsSampler(10), pts);
    expect(kept.length).toBeGreaterThanOrEqual(99);
    expect(kept.length).toBeLessThanOrEqual(101);
    const gaps = kept.slice(1).map((p, i) => p - kept[i]!);
    for (const g of gaps) expect(g).toBeGreaterThan(0.066);
  });

  it('keeps everything when the source is slower than the rate, and restarts after a jump', () => {
    expect(keepAll(new PtsSampler(30), [0, 0.1, 0.2, 0.3])).toEqual([0, 0.1, 0.2, 0.3]);
    const s = new PtsSampler(5);
    expect(keepAll(s, [0, 0.1, 0.2, 0.25])).toEqual([0, 0.2]);
    // A loop restart (pts back to 0) or a long gap starts a fresh schedule.
    expect(s.keep(0)).toBe(true);
    expect(s.keep(100)).toBe(true);
    expect(s.keep(100.1)).toBe(false);
  });

  it('refuses a non-positive rate', () => {
    expect(() => new PtsSampler(0)).toThrow(RangeError);
  });
});
