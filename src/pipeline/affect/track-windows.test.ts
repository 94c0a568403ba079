import { describe, expect, it } from 'vitest';
import type { TrackId } from '../../core/ids.js';
import { planSeedWindows, seedWindows } from '../../models/seed/seed-windows.js';
import { TrackWindows, offlineWindows, type WindowJob } from './track-windows.js';

const T1 = 1 as TrackId;
const T2 = 2 as TrackId;
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** Runs one track of `length` frames (features = frame index) through live windows, then ends it. */
function live(length: number, seqLen: number, stride: number): WindowJob<number>[] {
  const w = new TrackWindows<number>({ seqLen, stride, maxTracks: 4 });
  const jobs: WindowJob<number>[] = [];
  for (let f = 0; f < length; f++) jobs.push(...w.push(T1, { frame: f, pts: f / 30, features: f }));
  jobs.push(...w.end(T1));
  return jobs;
}

/** Every reported frame in report order; throws if a frame is reported twice. */
function reported(jobs: readonly WindowJob<number>[]): number[] {
  const seen = new Set<number>();
  const order: number[] = [];
  for (const job of jobs) {
    for (const pos of job.emit) {
      const frame = job.frames[pos]!.frame;
      if (seen.has(frame)) throw new Error(`frame ${frame} reported twice`);
      seen.add(frame);
      order.push(frame);
    }
  }
  return order;
}

describe('offlineWindows (seed §7.3)', () => {
  it('matches the seed plan in src/predict: same windows, first occurrence wins', () => {
    for (const seqLen of [1, 4, 32]) {
      for (let length = 1; length <= 100; length++) {
        const ws = offlineWindows(length, seqLen);
        const seed = seedWindows(length, seqLen);
        expect(ws.map((w) => range(0, seqLen).map((k) => Math.min(w.start + k, length - 1)))).toEqual(seed);
        const source = [...planSeedWindows(length, seqLen).source];
        const flat = ws.flatMap((w, i) => w.emit.map((pos) => i * seqLen + pos));
        expect(flat).toEqual(source);
      }
    }
  });

  it('spells out a tail window, a duplicate window and a padded window', () => {
    expect(offlineWindows(10, 4)).toEqual([
      { start: 0, emit: [0, 1, 2, 3] },
      { start: 4, emit: [0, 1, 2, 3] },
      { start: 6, emit: [2, 3] },
    ]);
    expect(offlineWindows(8, 4)).toEqual([
      { start: 0, emit: [0, 1, 2, 3] },
      { start: 4, emit: [0, 1, 2, 3] },
      { start: 4, emit: [] },
    ]);
    expect(offlineWindows(3, 4)).toEqual([{ start: 0, emit: [0, 1, 2] }]);
    expect(offlineWindows(0, 4)).toEqual([]);
  });
});

describe('TrackWindows', () => {
  it('live with stride = seqLen equals offline for every length 1..100 and seqLen 1, 4, 32', () => {
    for (const seqLen of [1, 4, 32]) {
      for (let length = 1; length <= 100; length++) {
        const jobs = live(length, seqLen, seqLen);
        const off = offlineWindows(length, seqLen).filter((w) => w.emit.length > 0);
        expect(jobs.map((j) => ({ start: j.frames[0]!.frame, emit: j.emit })), `L=${length} N=${seqLen}`).toEqual(off);
        // Same window content too (padding included), frame for frame.
        const seed = seedWindows(length, seqLen).filter((_, i) => offlineWindows(length, seqLen)[i]!.emit.length > 0);
        expect(jobs.map((j) => j.frames.map((f) => f.features))).toEqual(seed);
      }
    }
  });

  it('with stride < seqLen reports every frame exactly once, from the first window that holds it', () => {
    for (const [seqLen, stride] of [
      [4, 1],
      [4, 2],
      [4, 3],
      [32, 8],
      [8, 5],
    ] as const) {
      for (let length = 1; length <= 70; length++) {
        const jobs = live(length, seqLen, stride);
        expect(reported(jobs)).toEqual(range(0, length)); // all, once, in order
        // The reporting window is the first one holding the frame.
        const firstWindow = new Map<number, number>();
        jobs.forEach((job, i) => job.frames.forEach((f) => firstWindow.has(f.frame) || firstWindow.set(f.frame, i)));
        const late = jobs.flatMap((job, i) => job.emit.filter((pos) => firstWindow.get(job.frames[pos]!.frame) !== i));
        expect(late).toEqual([]);
        expect(jobs.every((job) => job.frames.length === seqLen)).toBe(true);
        // Only the flush is final, and it is the last job.
        expect(jobs.filter((j) => j.final).length).toBeLessThanOrEqual(1);
        if (jobs.some((j) => j.final)) expect(jobs.at(-1)!.final).toBe(true);
      }
    }
  });

  it('emits the first window with all frames, then the newest `stride` frames every `stride` frames', () => {
    const w = new TrackWindows<number>({ seqLen: 4, stride: 2, maxTracks: 2 });
    const out: (WindowJob<number> | null)[] = [];
    for (let f = 0; f < 9; f++) out.push(w.push(T1, { frame: f, pts: f, features: f })[0] ?? null);
    const summary = out.map((j) => (j ? { ids: j.frames.map((x) => x.frame), emit: j.emit } : null));
    expect(summary).toEqual([
      null,
      null,
      null,
      { ids: [0, 1, 2, 3], emit: [0, 1, 2, 3] },
      null,
      { ids: [2, 3, 4, 5], emit: [2, 3] },
      null,
      { ids: [4, 5, 6, 7], emit: [2, 3] },
      null,
    ]);
    const [flush] = w.end(T1);
    expect(flush).toMatchObject({ final: true, emit: [3] });
    expect(flush!.frames.map((x) => x.frame)).toEqual([5, 6, 7, 8]);
    expect(w.end(T1)).toEqual([]); // forgotten
  });

  it('pads a short track by repeating its last frame and never reports the padding', () => {
    const w = new TrackWindows<string>({ seqLen: 5, stride: 5, maxTracks: 1 });
    w.push(T1, { frame: 10, pts: 0.1, features: 'a' });
    w.push(T1, { frame: 12, pts: 0.2, features: 'b' });
    const [job] = w.end(T1);
    expect(job!.frames.map((f) => f.features)).toEqual(['a', 'b', 'b', 'b', 'b']);
    expect(job!.emit).toEqual([0, 1]);
  });

  it('keeps tracks apart and flushes all of them at stream end in first-seen order', () => {
    const w = new TrackWindows<number>({ seqLen: 2, stride: 2, maxTracks: 4 });
    expect(w.push(T2, { frame: 0, pts: 0, features: 20 })).toEqual([]);
    expect(w.push(T1, { frame: 0, pts: 0, features: 10 })).toEqual([]);
    const [j] = w.push(T1, { frame: 1, pts: 0.1, features: 11 });
    expect(j).toMatchObject({ trackId: T1, emit: [0, 1] });
    expect(j!.frames.map((f) => f.features)).toEqual([10, 11]);
    w.push(T1, { frame: 2, pts: 0.2, features: 12 });
    expect(w.heldFrames).toBe(3);
    const all = w.endAll();
    expect(all.map((x) => [x.trackId, x.frames.map((f) => f.features), x.emit])).toEqual([
      [T2, [20, 20], [0]],
      [T1, [11, 12], [1]],
    ]);
    expect(w.size).toBe(0);
  });

  it('holds at most maxTracks tracks: frames of further tracks are refused and reported', () => {
    const dropped: [TrackId, number][] = [];
    const w = new TrackWindows<number>({ seqLen: 3, stride: 3, maxTracks: 2, onDrop: (id, it) => dropped.push([id, it.frame]) });
    for (let f = 0; f < 10; f++) for (const id of [1, 2, 3] as TrackId[]) w.push(id, { frame: f, pts: f, features: f });
    expect(w.size).toBe(2);
    expect(w.heldFrames).toBe(6); // ≤ maxTracks × seqLen
    expect(dropped).toHaveLength(10);
    expect(dropped.every(([id]) => id === 3)).toBe(true);
    // A slot frees: the refused track is admitted from its next frame on.
    w.end(1 as TrackId);
    expect(w.push(3 as TrackId, { frame: 10, pts: 10, features: 10 })).toEqual([]);
    expect(w.size).toBe(2);
  });

  it('rejects bad options and out-of-order frames', () => {
    expect(() => new TrackWindows({ seqLen: 4, stride: 5, maxTracks: 1 })).toThrow(RangeError);
    expect(() => new TrackWindows({ seqLen: 0, stride: 1, maxTracks: 1 })).toThrow(RangeError);
    expect(() => new TrackWindows({ seqLen: 4, stride: 0, maxTracks: 1 })).toThrow(RangeError);
    expect(() => new TrackWindows({ seqLen: 4, stride: 2, maxTracks: 0 })).toThrow(RangeError);
    const w = new TrackWindows<number>({ seqLen: 4, stride: 2, maxTracks: 1 });
    w.push(T1, { frame: 5, pts: 0, features: 0 });
    expect(() => w.push(T1, { frame: 5, pts: 0, features: 0 })).toThrow(RangeError);
  });
});
