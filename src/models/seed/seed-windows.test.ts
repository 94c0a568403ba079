import { describe, expect, it } from 'vitest';
import { batchWindows, firstOccurrence, flattenWindowIds, planSeedWindows, seedWindows } from './seed-windows.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('seedWindows (spec §7.3)', () => {
  it('pads a sequence shorter than seqLen by repeating its last frame', () => {
    expect(seedWindows(3, 6)).toEqual([[0, 1, 2, 2, 2, 2]]);
    expect(seedWindows(1, 4)).toEqual([[0, 0, 0, 0]]);
  });

  it('has no windows for an empty sequence', () => {
    expect(seedWindows(0, 32)).toEqual([]);
  });

  it('duplicates the tail window when L is a multiple of seqLen (⌊L/seqLen⌋ + 1 windows)', () => {
    expect(seedWindows(8, 4)).toEqual([range(0, 4), range(4, 8), range(4, 8)]);
    expect(seedWindows(4, 4)).toEqual([range(0, 4), range(0, 4)]);
  });

  it('makes the last window the final seqLen frames when L = k·seqLen + r', () => {
    expect(seedWindows(10, 4)).toEqual([range(0, 4), range(4, 8), range(6, 10)]);
    expect(seedWindows(70, 32)).toEqual([range(0, 32), range(32, 64), range(38, 70)]);
  });

  it('rejects bad arguments', () => {
    expect(() => seedWindows(-1, 4)).toThrow(RangeError);
    expect(() => seedWindows(4, 0)).toThrow(RangeError);
    expect(() => batchWindows([], 0)).toThrow(RangeError);
  });
});

describe('merging overlapping windows', () => {
  it('keeps the first occurrence of each frame: the earlier window wins', () => {
    // Windows [0..3], [4..7], [6..9]: frames 6 and 7 come from window 1, 8 and 9 from window 2.
    const plan = planSeedWindows(10, 4);
    expect([...plan.source]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 10, 11]);
  });

  it('takes a padded frame from its first position', () => {
    expect([...planSeedWindows(3, 6).source]).toEqual([0, 1, 2]);
  });

  it('ignores the duplicated tail window entirely', () => {
    expect([...planSeedWindows(8, 4).source]).toEqual(range(0, 8));
  });

  it('rejects ids that leave a frame uncovered or fall outside the sequence', () => {
    expect(() => firstOccurrence([0, 2], 3)).toThrow(/frame 1 is in no window/);
    expect(() => firstOccurrence([0, 3], 3)).toThrow(/outside/);
  });
});

describe('batch order (the seed’s (N, B) vs (B, N) bug, fixed)', () => {
  it('flattens ids window-major, matching the row-major order of a [B, N, n] output', () => {
    const windows = seedWindows(10, 4);
    const [batch] = batchWindows(windows, 3);
    const ids = flattenWindowIds(batch ?? []);
    // A fake [B, N] output whose value at (b, n) is the frame it was computed from.
    const output = (batch ?? []).flatMap((w) => w.map((frame) => frame));
    expect(ids).toEqual(output);
    // What the seed did: ids transposed by collate to (N, B) and then flattened.
    const transposed = range(0, 4).flatMap((n) => (batch ?? []).map((w) => w[n]));
    expect(transposed).not.toEqual(output);
  });

  it('gives the same per-frame source whatever the batch size', () => {
    const windows = seedWindows(77, 8);
    const plan = planSeedWindows(77, 8);
    for (const size of [1, 2, 3, 10]) {
      const flat = batchWindows(windows, size).flatMap(flattenWindowIds);
      expect(firstOccurrence(flat, 77)).toEqual(plan.source);
    }
  });
});

describe("the authors' windows (`authors` mode: pandas' iloc[L − seqLen : L])", () => {
  const pad = (ids: number[], n: number): number[] => [...ids, ...new Array<number>(n - ids.length).fill(ids[ids.length - 1]!)];

  it('a sequence of seqLen/2 < L < seqLen starts at 2L − seqLen (a negative iloc start counts from the end)', () => {
    expect(seedWindows(20, 32, 'authors')).toEqual([pad(range(8, 20), 32)]);
    expect(seedWindows(17, 32, 'authors')).toEqual([pad(range(2, 17), 32)]);
    expect(seedWindows(31, 32, 'authors')).toEqual([pad(range(30, 31), 32)]);
    const plan = planSeedWindows(20, 32, 'authors');
    expect(plan.first).toBe(8);
    expect([...plan.source]).toEqual(range(0, 12));
  });

  it('L ≤ seqLen/2 starts at 0 (iloc clamps a start below −L), as does every L ≥ seqLen: the same windows as `complete`', () => {
    for (const length of [1, 5, 10, 16, 32, 33, 40, 64, 77]) {
      expect(seedWindows(length, 32, 'authors')).toEqual(seedWindows(length, 32));
      expect(planSeedWindows(length, 32, 'authors').first).toBe(0);
    }
  });

  it('`complete` gives every frame of a short sequence an output, from a window starting at 0', () => {
    expect(seedWindows(20, 32)).toEqual([pad(range(0, 20), 32)]);
    expect(planSeedWindows(20, 32).first).toBe(0);
  });
});
