import { describe, expect, it } from 'vitest';
import { RgbCanvas } from './rgb-canvas.js';

const px = (c: RgbCanvas, x: number, y: number): number[] => [...c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3)];
const count = (c: RgbCanvas, rgb: readonly number[]): number => {
  let n = 0;
  for (let i = 0; i < c.data.length; i += 3) if (c.data[i] === rgb[0] && c.data[i + 1] === rgb[1] && c.data[i + 2] === rgb[2]) n++;
  return n;
};

describe('RgbCanvas', () => {
  it('fills rectangles clipped to the canvas', () => {
    const c = new RgbCanvas(new Uint8Array(10 * 8 * 3), 10, 8);
    c.rect(-5, -5, 8, 7, [255, 0, 0]);
    expect(count(c, [255, 0, 0])).toBe(3 * 2);
    expect(px(c, 2, 1)).toEqual([255, 0, 0]);
    expect(px(c, 3, 1)).toEqual([0, 0, 0]);
    c.rect(8, 6, 100, 100, [0, 255, 0]);
    expect(count(c, [0, 255, 0])).toBe(2 * 2);
    c.strokeRect(0, 0, 10, 8, [0, 0, 255], 1);
    expect(count(c, [0, 0, 255])).toBe(2 * 10 + 2 * 6);
  });

  it('draws lines, blits and text, and ignores non-finite or far-away coordinates', () => {
    const c = new RgbCanvas(new Uint8Array(40 * 20 * 3), 40, 20);
    c.line(0, 0, 39, 19, [9, 9, 9], 1);
    expect(px(c, 0, 0)).toEqual([9, 9, 9]);
    expect(px(c, 39, 19)).toEqual([9, 9, 9]);
    const before = c.data.slice();
    c.line(0, 0, Infinity, 5, [1, 1, 1]);
    c.line(NaN, 0, 3, 5, [1, 1, 1]);
    c.rect(NaN, 0, 5, 5, [1, 1, 1]);
    expect(c.data).toEqual(before);
    c.line(-1e12, 10, 1e12, 10, [2, 2, 2], 1);
    expect(px(c, 20, 10)).toEqual([2, 2, 2]);
    c.blit({ data: new Uint8Array(4 * 3).fill(7), width: 2, height: 2 }, 39, 19);
    expect(px(c, 39, 19)).toEqual([7, 7, 7]);
    const t = new RgbCanvas(new Uint8Array(40 * 20 * 3), 40, 20);
    t.text('AU1', 1, 1, [200, 200, 200], 1);
    // 'A', 'U' and '1' of the 5×7 font: 18 + 15 + 10 lit pixels.
    expect(count(t, [200, 200, 200])).toBe(18 + 15 + 10);
    expect(RgbCanvas.textWidth('AU1', 2)).toBe(36);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => new RgbCanvas(new Uint8Array(5), 2, 2)).toThrow(RangeError);
  });
});
