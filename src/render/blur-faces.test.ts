import { describe, expect, it } from 'vitest';
import { blurFaces, hiddenRegion } from './blur-faces.js';

describe('blurFaces', () => {
  it('pixelates the grown box only, and leaves the input as it was', () => {
    const width = 64;
    const height = 48;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    const before = data.slice();
    const box = [20, 12, 16, 16] as const;
    const out = blurFaces({ data, width, height }, [box]);
    expect(data).toEqual(before);
    const [rx, ry, rw, rh] = hiddenRegion(box, width, height);
    expect([rx, ry, rw, rh]).toEqual([16, 8, 24, 24]);
    let changedInside = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const inside = x >= rx && x < rx + rw && y >= ry && y < ry + rh;
        const same = out.data[i] === data[i] && out.data[i + 1] === data[i + 1] && out.data[i + 2] === data[i + 2];
        if (!inside) expect(same, `${x},${y}`).toBe(true);
        else if (!same) changedInside++;
      }
    }
    expect(changedInside).toBeGreaterThan(rw * rh * 0.9);
    // Blocks of one colour: 4 px (a 16-px face / 6, at least 4).
    const px = (x: number, y: number): number[] => [...out.data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    expect(px(17, 9)).toEqual(px(16, 8));
    expect(px(19, 11)).toEqual(px(16, 8));
  });

  it('ignores boxes outside the frame or not finite', () => {
    const data = new Uint8Array(8 * 8 * 3).fill(7);
    expect(blurFaces({ data, width: 8, height: 8 }, [[100, 100, 5, 5], [Number.NaN, 0, 4, 4]]).data).toEqual(data);
  });
});
