import { describe, expect, it } from 'vitest';
import type { TrackId } from '../../core/ids.js';
import { EyeClosure, type Blink, type EyeState } from './eye-closure.js';

const FPS = 30;
const OPEN = 0.28;

/** A synthetic track: open eyes at OPEN, with the listed frames replaced by other EARs. */
function run(frames: number, closedAt: ReadonlyMap<number, number>, tracker = new EyeClosure()) {
  const blinks: Blink[] = [];
  const states: EyeState[] = [];
  for (let f = 0; f < frames; f++) {
    const ear = closedAt.get(f) ?? OPEN;
    const { state, blink } = tracker.update(1 as TrackId, { frame: f, pts: f / FPS, wallTime: 1000 + f }, { left: ear, right: ear });
    states.push(state);
    if (blink) blinks.push(blink);
  }
  return { blinks, states, tracker };
}

const span = (from: number, count: number, ear: number): [number, number][] => Array.from({ length: count }, (_, i) => [from + i, ear]);

describe('EyeClosure on a synthetic landmark sequence', () => {
  // 20 s at 30 fps: three 4-frame blinks fully closed, one 2-frame blink to 0.17 (85 % closed),
  // a 1.2 s closure, and a squint to 0.22 (45 % closed: below the blink threshold).
  const closed = new Map<number, number>([
    ...span(60, 4, 0.15),
    ...span(150, 4, 0.15),
    ...span(240, 4, 0.14),
    ...span(330, 2, 0.17),
    ...span(400, 36, 0.14),
    ...span(500, 6, 0.22),
  ]);
  const { blinks, states } = run(600, closed);

  it('counts the blinks and their start and duration, and not the squint', () => {
    expect(blinks.map((b) => b.frame)).toEqual([60, 150, 240, 330, 400]);
    expect(blinks.map((b) => b.pts)).toEqual([60 / FPS, 150 / FPS, 240 / FPS, 330 / FPS, 400 / FPS]);
    const durations = blinks.map((b) => b.durationS);
    [4, 4, 4, 2, 36].forEach((n, i) => expect(durations[i]).toBeCloseTo(n / FPS, 9));
    expect(blinks[2]!.minEar).toBeCloseTo(0.14, 9);
    expect(blinks.map((b) => b.wallTime)).toEqual([1060, 1150, 1240, 1330, 1400]);
  });

  it('reports closure 0 for open eyes, 1 for the mesh’s closed eyes, partial for the squint', () => {
    expect(states[10]!.closure).toBe(0);
    expect(states[61]!.closure).toBe(1);
    expect(states[501]!.closure).toBeGreaterThan(0.3);
    expect(states[501]!.closure).toBeLessThan(0.5);
  });

  it('PERCLOS is the share of time more than 80 % closed, computed independently', () => {
    // Frames with closure > 0.8: all but the squint; each lasts one frame period; the track has
    // been seen for 599 frame periods at its last frame.
    const closedFrames = 4 + 4 + 4 + 2 + 36;
    expect(states[599]!.perclos).toBeCloseTo(closedFrames / 599, 6);
    // Blink rate: 5 blinks over 599/30 s.
    expect(states[599]!.blinkRate).toBeCloseTo((5 * 60) / (599 / FPS), 6);
    expect(states[59]!.perclos).toBe(0);
  });

  it('forgets what left the 60 s window', () => {
    const tracker = new EyeClosure();
    // One blink at 1 s, then 70 s of open eyes: the blink and its closed time leave the window.
    const { states: later } = run(71 * FPS, new Map(span(30, 4, 0.15)), tracker);
    expect(later[60 * FPS]!.perclos).toBeGreaterThan(0);
    expect(later[60 * FPS]!.blinkRate).toBeGreaterThan(0);
    expect(later[71 * FPS - 1]!.perclos).toBe(0);
    expect(later[71 * FPS - 1]!.blinkRate).toBe(0);
  });

  it('a blink still in progress when the track ends is not counted, and its state goes', () => {
    const { blinks: none, tracker } = run(100, new Map(span(95, 5, 0.15)));
    expect(none).toEqual([]);
    expect(tracker.size).toBe(1);
    tracker.forget(1 as TrackId);
    expect(tracker.size).toBe(0);
  });
});
