import { describe, expect, it } from 'vitest';
import { media } from '../../test/helpers/media.js';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeImage, readImageFile } from './decode-image.js';
import { openSource } from './open-source.js';

/** The demuxer path (image2 + the same decoder through openSource), at the image's own size. */
async function readThroughDemuxer(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const frames = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth: 1 << 16 });
  try {
    const next = await frames.next();
    if (next.done === true) throw new Error(`${file}: no frame`);
    return { data: next.value.data, width: next.value.width, height: next.value.height };
  } finally {
    await frames.return(undefined);
  }
}
import { encodeJpeg, encodePng } from './encode-image.js';
import { AnalyticsError } from '../core/errors.js';
import { cut, jpegCutBetweenScans, jpegWithThumbnail, jpegWithoutEoi, pngWithRowsMissing, pngWithoutIend, withTrailingGarbage } from '../../test/helpers/damaged-images.js';

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

  it('the PIL-exact reader (predict’s image folders) decodes a JPEG still exactly as the demuxer path (openSource) does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imgcodec-'));
    try {
      const f = path.join(dir, 'a.jpg');
      writeFileSync(f, encodeJpeg(gradient(64, 48), 64, 48, 80));
      const a = await readImageFile(f, { jpeg: 'pil' });
      const b = await readThroughDemuxer(f);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
      const big = await readImageFile(media('multi_face.jpg'), { jpeg: 'pil' });
      const big2 = await readThroughDemuxer(media('multi_face.jpg'));
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

/** The error decodeImage throws, or undefined when it decodes. */
function decodeFailure(bytes: Uint8Array, name: string): unknown {
  try {
    decodeImage(bytes, name);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('damaged images are decode errors, never concealed pictures', () => {
  // multi_face.jpg is a progressive JPEG (SOF2, ten scans); the others are made from its pixels.
  const progressive = readFileSync(media('multi_face.jpg'));
  const pixels = decodeImage(progressive, 'multi_face.jpg');
  const baseline = encodeJpeg(pixels.data, pixels.width, pixels.height, 90);
  const png = encodePng(pixels.data, pixels.width, pixels.height);
  const thumbnail = encodeJpeg(gradient(32, 24), 32, 24, 80);

  const damaged: [string, () => Uint8Array][] = [
    ['a progressive JPEG cut at 60 %', () => cut(progressive, 0.6)],
    ['a progressive JPEG cut at 10 %', () => cut(progressive, 0.1)],
    ['a progressive JPEG cut at 99 %', () => cut(progressive, 0.99)],
    ['a progressive JPEG cut between two scans (nothing overread)', () => jpegCutBetweenScans(progressive)],
    ['a JPEG without its end-of-image marker', () => jpegWithoutEoi(progressive)],
    ['a JPEG whose only EOI is its EXIF thumbnail’s', () => jpegWithoutEoi(jpegWithThumbnail(progressive, thumbnail))],
    ['a baseline JPEG cut at 60 %', () => cut(baseline, 0.6)],
    ['a PNG cut at 60 %', () => cut(png, 0.6)],
    ['a PNG whose later IDAT chunks are missing (valid IEND after them)', () => pngWithRowsMissing(png)],
    ['a PNG without its IEND chunk', () => pngWithoutIend(png)],
  ];
  it.each(damaged)('%s: VA_ERR_DECODE naming the file', (_, make) => {
    const err = decodeFailure(make(), 'damaged/face.img');
    expect(err).toBeInstanceOf(AnalyticsError);
    expect((err as AnalyticsError).code).toBe('VA_ERR_DECODE');
    expect((err as Error).message).toMatch(/^damaged\/face\.img: /);
  });

  // Each with the image whose pixels it must decode to.
  const valid: [string, () => Uint8Array, () => Uint8Array][] = [
    ['a complete progressive JPEG', () => progressive, () => progressive],
    ['a JPEG with an EXIF thumbnail', () => jpegWithThumbnail(progressive, thumbnail), () => progressive],
    ['a progressive JPEG with bytes after EOI (as some cameras write)', () => withTrailingGarbage(progressive), () => progressive],
    ['a baseline JPEG with zeros after EOI', () => Buffer.concat([baseline, Buffer.alloc(4096)]), () => baseline],
    ['a PNG with bytes after IEND', () => withTrailingGarbage(png), () => png],
  ];
  it.each(valid)('%s still decodes, to the same pixels', (_, make, reference) => {
    const want = decodeImage(reference(), 'reference');
    const got = decodeImage(make(), 'valid.img');
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
  });
});
