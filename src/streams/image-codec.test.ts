import { describe, expect, it } from 'vitest';
import { readImage } from '../predict/image-dir.js';
import { media } from '../../test/helpers/media.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage, readImageFile } from './decode-image.js';
import { encodeJpeg, encodePng } from './encode-image.js';

function gradient(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      rgb[i] = Math.round((x / (w - 1)) * 255);
      rgb[i + 1] = Math.round((y / (h - 1)) * 255);
      rgb[i + 2] = 90;
    }
  }
  return rgb;
}

describe('image encode/decode', () => {
  it('PNG round-trips exactly, odd sizes included', () => {
    for (const [w, h] of [
      [112, 112],
      [37, 19],
    ] as const) {
      const rgb = gradient(w, h);
      const png = encodePng(rgb, w, h);
      expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
      const back = decodeImage(png, 'x.png');
      expect([back.width, back.height]).toEqual([w, h]);
      expect(Buffer.from(back.data).equals(Buffer.from(rgb))).toBe(true);
    }
  });

  it('JPEG round-trips within a few levels at quality 95, and quality changes the size', () => {
    const rgb = gradient(112, 112);
    const hi = encodeJpeg(rgb, 112, 112, 95);
    const lo = encodeJpeg(rgb, 112, 112, 10);
    expect(hi[0]).toBe(0xff);
    expect(hi[1]).toBe(0xd8);
    expect(lo.length).toBeLessThan(hi.length);
    const back = decodeImage(hi, 'x.jpg');
    let sum = 0;
    for (let i = 0; i < rgb.length; i++) sum += Math.abs((back.data[i] ?? 0) - (rgb[i] ?? 0));
    expect(sum / rgb.length).toBeLessThan(3);
  });

  it('decodes exactly as the demuxer path (readImage) does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imgcodec-'));
    try {
      const f = path.join(dir, 'a.jpg');
      writeFileSync(f, encodeJpeg(gradient(64, 48), 64, 48, 80));
      const a = await readImageFile(f);
      const b = await readImage(f);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
      const big = await readImageFile(media('multi_face.jpg'));
      const big2 = await readImage(media('multi_face.jpg'));
      expect([big.width, big.height]).toEqual([big2.width, big2.height]);
      expect(Buffer.from(big.data).equals(Buffer.from(big2.data))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hostile bytes give a clear error naming the file', async () => {
    expect(() => decodeImage(new Uint8Array([1, 2, 3]), 'junk.jpg')).toThrow(/junk\.jpg: not a JPEG, PNG or BMP/);
    const truncated = encodePng(gradient(32, 32), 32, 32).subarray(0, 40);
    expect(() => decodeImage(truncated, 'cut.png')).toThrow(/cut\.png/);
    const jpegHeaderOnly = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
    expect(() => decodeImage(jpegHeaderOnly, 'hdr.jpg')).toThrow(/hdr\.jpg/);
    await expect(readImageFile('/nonexistent/x.png')).rejects.toThrow(/nonexistent\/x\.png: cannot read/);
    expect(() => encodeJpeg(new Uint8Array(10), 4, 4)).toThrow(RangeError);
  });
});

describe('hostile image headers', () => {
  it('a PNG claiming 40000×40000 pixels is refused without allocating it', () => {
    const png = Buffer.from(encodePng(gradient(8, 8), 8, 8));
    // IHDR width/height live at bytes 16..23; the CRC no longer matches, which FFmpeg tolerates or rejects — either way no 4.8 GB frame.
    png.writeUInt32BE(40000, 16);
    png.writeUInt32BE(40000, 20);
    const before = process.memoryUsage().rss;
    expect(() => decodeImage(png, 'huge.png')).toThrow(/huge\.png/);
    expect(process.memoryUsage().rss - before).toBeLessThan(500e6);
  });
});
