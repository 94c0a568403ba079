import { beforeAll, describe, expect, it } from 'vitest';
import type { FiveLandmarks, Point } from '../../core/records.js';
import { selectBackend } from '../backend.js';
import { tf } from '../tf.js';
import { computeAlignment, cropAlignedFaces, sourcePointToCrop } from './index.js';

/** An upright face template, rotated by `deg` about (cx, cy) and scaled. */
function landmarks(deg: number, scale: number, cx: number, cy: number, mouthDrop = 40): FiveLandmarks {
  const upright: Point[] = [
    [-30, -20],
    [30, -20],
    [0, 5],
    [-22, -20 + mouthDrop],
    [22, -20 + mouthDrop],
  ];
  const r = (deg * Math.PI) / 180;
  return upright.map(([x, y]) => [cx + scale * (x * Math.cos(r) - y * Math.sin(r)), cy + scale * (x * Math.sin(r) + y * Math.cos(r))]) as unknown as FiveLandmarks;
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('computeAlignment (seed §7.1)', () => {
  it.each([0, 12, -25, 47, 170])('puts the eyes level at fixed template positions for a face rotated %d°', (deg) => {
    for (const scale of [0.5, 1, 2.5]) {
      const lm = landmarks(deg, scale, 320, 200);
      const a = computeAlignment(lm, 112);
      const [le, re, , ml, mr] = lm.map(([x, y]) => sourcePointToCrop(a, x, y));
      // α = eye distance (60·scale) here, so the crop spans 2α: eyes at 1/4 and 3/4 of the width.
      expect(le![1]).toBeCloseTo(re![1], 6);
      expect(le![0]).toBeCloseTo(28, 6);
      expect(re![0]).toBeCloseTo(84, 6);
      // E and M sit symmetrically about the centre, 40·scale apart → ±(40/2)/(2·60)·112.
      const eyeY = le![1];
      const mouthY = (ml![1] + mr![1]) / 2;
      expect(eyeY).toBeCloseTo(56 - (20 / 120) * 112, 6);
      expect(mouthY).toBeCloseTo(56 + (20 / 120) * 112, 6);
      expect(((a.angleDeg - deg + 540) % 360) - 180).toBeCloseTo(0, 6);
    }
  });

  it('uses the eye-to-mouth distance when it exceeds the eye distance', () => {
    const lm = landmarks(0, 1, 100, 100, 100);
    const a = computeAlignment(lm, 112);
    // α = 100 → side 200 → scale 200/112 source pixels per crop pixel.
    expect(a.cropToSource[0]).toBeCloseTo(200 / 112, 9);
    const [le] = lm.map(([x, y]) => sourcePointToCrop(a, x, y));
    expect(le![1]).toBeCloseTo(56 - (50 / 200) * 112, 6);
  });
});

describe('cropAlignedFaces', () => {
  it('samples the right pixels, blacks out the outside, and leaks no tensors', () => {
    // A 200×120 image whose red channel encodes x and green encodes y.
    const w = 200;
    const h = 120;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y * 2, 77], (y * w + x) * 3);
    const before = tf.memory().numTensors;
    const upright = computeAlignment(landmarks(0, 0.5, 100, 60), 16);
    const offImage = computeAlignment(landmarks(0, 1, 5, 5), 16);
    const crops = cropAlignedFaces({ data, width: w, height: h }, [upright, offImage]);
    const values = crops.arraySync() as number[][][][];
    crops.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(crops.shape).toEqual([2, 16, 16, 3]);
    // Crop pixel centre (i+0.5, j+0.5) maps to the source; red = x - 0.5 at pixel centres.
    const a = upright.cropToSource;
    for (const [i, j] of [
      [0, 0],
      [8, 8],
      [15, 3],
    ] as const) {
      const sx = a[0] * (j + 0.5) + a[1] * (i + 0.5) + a[2];
      const sy = a[3] * (j + 0.5) + a[4] * (i + 0.5) + a[5];
      expect(values[0]![i]![j]![0]).toBeCloseTo(sx - 0.5, 3);
      expect(values[0]![i]![j]![1]).toBeCloseTo((sy - 0.5) * 2, 3);
      expect(values[0]![i]![j]![2]).toBeCloseTo(77, 3);
    }
    // The second face's crop starts far outside the image (top-left): black there.
    expect(values[1]![0]![0]).toEqual([0, 0, 0]);
  });
});
