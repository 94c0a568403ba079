import { describe, expect, it } from 'vitest';
import { runSeedWindows } from './run-seed-windows.js';
import { planSeedWindows } from './seed-windows.js';

/** A fake GRU: each window position returns `frame id · 10 + position`, after a delay that finishes later batches first. */
function fakeRun(delays: number[], log: number[]) {
  let call = 0;
  return async (windows: readonly (readonly number[])[]): Promise<number[][]> => {
    const me = call++;
    await new Promise((r) => setTimeout(r, delays[me % delays.length]));
    log.push(me);
    return windows.map((w) => w.map((id, k) => id * 10 + k));
  };
}

describe('runSeedWindows', () => {
  it.each([1, 2, 3, 8])('gives the same frame decisions at concurrency %i, whatever order the batches finish in', async (concurrency) => {
    const frames = Array.from({ length: 23 }, (_, i) => i);
    const reference = await runSeedWindows(frames, 4, 2, fakeRun([0], []), 1);
    const log: number[] = [];
    const got = await runSeedWindows(frames, 4, 2, fakeRun([30, 20, 10, 1], log), concurrency);
    expect(got).toEqual(reference);
    // Frame t is predicted by the first window that holds it (spec §7.3), at its position there.
    const plan = planSeedWindows(23, 4);
    expect(got).toEqual(Array.from(plan.source, (idx, t) => t * 10 + (idx % 4)));
    if (concurrency > 1) expect(log).not.toEqual([...log].sort((a, b) => a - b));
  });

  it('keeps at most `concurrency` batches in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const frames = Array.from({ length: 40 }, (_, i) => i);
    await runSeedWindows(frames, 4, 1, async (windows) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return windows.map((w) => [...w]);
    }, 3);
    expect(most).toBe(3);
  });

  it('fails when a batch fails or returns the wrong number of windows, and on a bad concurrency', async () => {
    const frames = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    await expect(runSeedWindows(frames, 4, 1, async () => Promise.reject(new Error('gru down')), 2)).rejects.toThrow('gru down');
    await expect(runSeedWindows(frames, 4, 2, async () => [[1, 2, 3, 4]], 2)).rejects.toThrow(RangeError);
    await expect(runSeedWindows(frames, 4, 2, async (w) => w.map((x) => [...x]), 0)).rejects.toThrow(RangeError);
    expect(await runSeedWindows([], 4, 2, async () => Promise.reject(new Error('not called')))).toEqual([]);
  });
});
