import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeJpeg } from './encode-jpeg.js';

describe('encodeJpeg', () => {
  it('encodes RGB (odd sizes too) into a JPEG that ffmpeg decodes back to the same picture', async () => {
    const w = 101;
    const h = 57;
    const data = new Uint8Array(w * h * 3);
    // Left half red, right half blue.
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < 50 ? [220, 30, 30] : [30, 30, 220], (y * w + x) * 3);
    const jpeg = await encodeJpeg({ data, width: w, height: h });
    expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: jpeg });
    expect(rgb.length).toBe(w * h * 3);
    const at = (x: number, y: number): number[] => [...rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    for (const [x, want] of [[10, [220, 30, 30]], [90, [30, 30, 220]]] as const) {
      at(x, 28).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(12));
    }
  });

  it('frees everything it allocates, and refuses a buffer of the wrong size', async () => {
    const img = { data: new Uint8Array(320 * 180 * 3).fill(90), width: 320, height: 180 };
    await encodeJpeg(img);
    const fds = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 30; i++) await encodeJpeg(img);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
    await expect(encodeJpeg({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(RangeError);
  });
});
