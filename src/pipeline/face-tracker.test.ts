import { describe, expect, it } from 'vitest';
import type { AlignedFace, Box } from '../core/records.js';
import { computeAlignment } from '../models/face-aligner/index.js';
import { FaceTracker } from './face-tracker.js';

function face(box: Box): AlignedFace {
  const [x, y, w, h] = box;
  const landmarks = [
    [x + 0.3 * w, y + 0.4 * h],
    [x + 0.7 * w, y + 0.4 * h],
    [x + 0.5 * w, y + 0.55 * h],
    [x + 0.35 * w, y + 0.75 * h],
    [x + 0.65 * w, y + 0.75 * h],
  ] as unknown as AlignedFace['landmarks'];
  return { box, score: 0.9, landmarks, alignment: computeAlignment(landmarks) };
}

describe('FaceTracker', () => {
  it('keeps ids through motion and swaps in order, and never reuses them', () => {
    const t = new FaceTracker({ iouThreshold: 0.2, maxGapFrames: 2 });
    const a = t.update(0, [face([0, 0, 50, 50]), face([200, 0, 50, 50])]);
    expect(a.changes).toEqual([
      { trackId: 1, state: 'started' },
      { trackId: 2, state: 'started' },
    ]);
    // Listed in the other order and moved a little: identities follow the boxes.
    const b = t.update(1, [face([205, 3, 50, 50]), face([4, 2, 50, 50])]);
    expect(b.faces.map((f) => f.trackId)).toEqual([2, 1]);
    expect(b.changes).toEqual([]);
  });

  it('follows a fast move by centre distance when boxes no longer overlap much', () => {
    const t = new FaceTracker({ iouThreshold: 0.5, maxGapFrames: 2 });
    t.update(0, [face([100, 100, 80, 80])]);
    const r = t.update(1, [face([130, 100, 80, 80])]);
    expect(r.faces[0]!.trackId).toBe(1);
  });

  it('tolerates short gaps and ends tracks after maxGapFrames', () => {
    const t = new FaceTracker({ iouThreshold: 0.2, maxGapFrames: 2 });
    t.update(0, [face([0, 0, 50, 50])]);
    expect(t.update(1, []).changes).toEqual([]);
    expect(t.update(2, []).changes).toEqual([]);
    expect(t.update(3, [face([2, 0, 50, 50])]).faces[0]!.trackId).toBe(1);
    t.update(4, []);
    t.update(5, []);
    expect(t.update(6, []).changes).toEqual([{ trackId: 1, state: 'ended' }]);
    expect(t.active).toBe(0);
    const again = t.update(7, [face([0, 0, 50, 50])]);
    expect(again.changes).toEqual([{ trackId: 2, state: 'started' }]);
    expect(t.endAll()).toEqual([{ trackId: 2, state: 'ended' }]);
  });
});
