import { describe, expect, it } from 'vitest';
import { agreement, klDivergence, stability, type TrackSeries } from './expression-metrics.js';

const onehot = (i: number, hi = 0.94): number[] => Array.from({ length: 7 }, (_, j) => (j === i ? hi : (1 - hi) / 6));

describe('expression bench metrics', () => {
  it('KL is zero for equal distributions, positive and finite otherwise', () => {
    expect(klDivergence(onehot(2), onehot(2))).toBeCloseTo(0, 12);
    const d = klDivergence(onehot(2), onehot(4));
    expect(d).toBeGreaterThan(1);
    expect(Number.isFinite(klDivergence([1, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]))).toBe(true);
  });

  it('agreement counts equal top-1 labels face by face and refuses mismatched tracks', () => {
    const a: TrackSeries[] = [{ key: 'v/1', pts: [0, 0.04, 0.08, 0.12], probs: [onehot(0), onehot(4), onehot(4), onehot(5)] }];
    const b: TrackSeries[] = [{ key: 'v/1', pts: [0, 0.04, 0.08, 0.12], probs: [onehot(0), onehot(4), onehot(5), onehot(5)] }];
    const r = agreement(a, b);
    expect(r.faces).toBe(4);
    expect(r.top1).toBe(0.75);
    expect(r.meanKl).toBeCloseTo(klDivergence(onehot(4), onehot(5)) / 4, 12);
    expect(() => agreement(a, [{ ...b[0]!, key: 'v/2' }])).toThrow(/different frames/);
  });

  it('stability is label changes per second of tracked video', () => {
    const t: TrackSeries[] = [
      { key: 'a', pts: [0, 0.5, 1, 1.5, 2], probs: [onehot(0), onehot(4), onehot(0), onehot(0), onehot(4)] },
      { key: 'b', pts: [3], probs: [onehot(1)] },
    ];
    expect(stability(t)).toEqual({ seconds: 2, changes: 3, changesPerSecond: 1.5 });
  });
});
