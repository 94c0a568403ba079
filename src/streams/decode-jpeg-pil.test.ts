import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnalyticsError } from '../core/errors.js';
import { decodeImage, MAX_IMAGE_PIXELS } from './decode-image.js';
import { decodeJpegPil, type PilRgb } from './decode-jpeg-pil.js';
import { openSource } from './open-source.js';
import { cut, jpegWithoutEoi } from '../../test/helpers/damaged-images.js';

/** test/fixtures/jpeg: JPEG crops and PIL's decode of each (tools/jpeg_reference.py). */
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/jpeg');
interface Reference {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly sha256: string;
  readonly samples: readonly { x: number; y: number; rgb: [number, number, number] }[];
}
const refs = (JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { files: Reference[] }).files;
const jpegs = refs.filter((r) => r.file.endsWith('.jpg'));
const bytesOf = (r: Reference): Buffer => readFileSync(path.join(dir, r.file));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function pil(bytes: Uint8Array, name: string): PilRgb {
  const r = decodeJpegPil(bytes, name, MAX_IMAGE_PIXELS);
  if (r.kind !== 'rgb') throw new Error(`${name}: ${r.reason}`);
  return r;
}

function expectPilPixels(got: { data: Uint8Array; width: number; height: number }, ref: Reference): void {
  expect([got.width, got.height]).toEqual([ref.width, ref.height]);
  for (const { x, y, rgb } of ref.samples) expect([...got.data.subarray((y * ref.width + x) * 3, (y * ref.width + x) * 3 + 3)]).toEqual(rgb);
  expect(sha256(got.data)).toBe(ref.sha256);
}

describe('JPEG decoded as PIL decodes it (libjpeg-turbo: islow IDCT, fancy upsampling)', () => {
  it('the reference set covers what it claims: qualities, subsamplings, odd and tiny sizes, progressive, grey, FFmpeg-written, a photo', () => {
    const names = jpegs.map((r) => r.file);
    for (const part of ['q75', 'q95', 'q50', '_422', '_444', 'progressive', 'grey', 'ffmpeg_', '111x113', '112x112', '134x134', '1x1', '17x9', '3x3', 'multi_face']) {
      expect(names.some((n) => n.includes(part))).toBe(true);
    }
    expect(jpegs.length).toBeGreaterThanOrEqual(20);
  });

  it.each(jpegs.map((r) => [r.file, r] as const))('%s: bit-exact with PIL', (_, ref) => {
    expectPilPixels(pil(bytesOf(ref), ref.file), ref);
  });

  it('decodeImage with jpeg: "pil" gives PIL’s pixels; FFmpeg’s RGB path differs from them (measured here)', () => {
    let values = 0;
    let differing = 0;
    let max = 0;
    for (const ref of jpegs) {
      const bytes = bytesOf(ref);
      expectPilPixels(decodeImage(bytes, ref.file, { jpeg: 'pil' }), ref);
      const want = pil(bytes, ref.file).data;
      const old = decodeImage(bytes, ref.file).data;
      let fileMax = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(want[i]! - old[i]!);
        if (d !== 0) differing++;
        fileMax = Math.max(fileMax, d);
      }
      values += want.length;
      max = Math.max(max, fileMax);
      console.log(`FFmpeg RGB vs PIL ${ref.file}: max |Δ| ${fileMax}`);
    }
    console.log(`FFmpeg RGB vs PIL over ${jpegs.length} files: max |Δ| ${max}, ${((100 * differing) / values).toFixed(1)} % of ${values} values differ`);
    // The issue this decoder exists for: FFmpeg's pixels are not PIL's.
    expect(max).toBeGreaterThan(1);
    expect(differing).toBeGreaterThan(0);
  });

  it('a 24-bit BMP: FFmpeg’s decoder gives PIL’s pixels', () => {
    const ref = refs.find((r) => r.file.endsWith('.bmp'))!;
    expectPilPixels(decodeImage(bytesOf(ref), ref.file), ref);
  });
});

describe('a JPEG still given as a file source (daemon predict --input face.jpg, a still file stream)', () => {
  async function firstFrame(file: string, maxWidth: number): Promise<{ data: Uint8Array; width: number; height: number }> {
    const frames = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth });
    try {
      const next = await frames.next();
      if (next.done === true) throw new Error(`${file}: no frame`);
      expect((await frames.next()).done).toBe(true);
      return next.value;
    } finally {
      await frames.return(undefined);
    }
  }

  it.each(['frame_134x134_q75.jpg', 'face4_134_q75_422.jpg', '../media/multi_face.jpg'])('%s: the frame is PIL’s decode', async (name) => {
    const ref = refs.find((r) => r.file === name)!;
    expectPilPixels(await firstFrame(path.join(dir, name), 1 << 16), ref);
  });

  it('a still wider than analysis.maxWidth is still scaled down (by FFmpeg, as before)', async () => {
    const f = await firstFrame(path.join(dir, '../media/multi_face.jpg'), 500);
    expect([f.width, f.height]).toEqual([500, 334]);
  });
});

/** The error `f` throws. */
function failure(f: () => unknown): AnalyticsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(AnalyticsError);
    return err as AnalyticsError;
  }
  throw new Error('expected a failure');
}

/** A copy of `jpeg` whose frame header (SOF0/SOF2) declares `width × height`. */
function withDeclaredSize(jpeg: Uint8Array, width: number, height: number): Buffer {
  const b = Buffer.from(jpeg);
  for (let i = 2; i + 9 < b.length; ) {
    const marker = b[i + 1]!;
    if (marker === 0xc0 || marker === 0xc2) {
      b.writeUInt16BE(height, i + 5);
      b.writeUInt16BE(width, i + 7);
      return b;
    }
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error('no SOF');
}

describe('hostile JPEGs on the PIL path: VA_ERR_DECODE naming the file, nothing huge allocated', () => {
  const face = readFileSync(path.join(dir, 'face0_112_q75.jpg'));
  const progressive = readFileSync(path.join(dir, 'face1_112_q75_progressive.jpg'));
  const hostile: [string, () => Uint8Array][] = [
    ['zero bytes', () => new Uint8Array(0)],
    ['only SOI', () => face.subarray(0, 2)],
    ['cut at 60 %', () => cut(face, 0.6)],
    ['cut inside its headers', () => face.subarray(0, 150)],
    ['a progressive one cut at 70 %', () => cut(progressive, 0.7)],
    ['no end-of-image marker', () => jpegWithoutEoi(face)],
    ['a header declaring 60000×60000', () => withDeclaredSize(face, 60000, 60000)],
    ['a 2.6 KB file declaring 8000×8000 (under the pixel limit)', () => withDeclaredSize(face, 8000, 8000)],
    ['a header declaring 0×112', () => withDeclaredSize(face, 0, 112)],
    ['scan data garbled', () => Buffer.concat([face.subarray(0, 700), Buffer.alloc(face.length - 702, 0xff).fill(0x55, 0, 400), face.subarray(-2)])],
  ];
  it.each(hostile)('%s', (_, make) => {
    const before = process.memoryUsage().rss;
    const err = failure(() => decodeImage(make(), 'bad/face.jpg', { jpeg: 'pil' }));
    expect(err.code).toBe('VA_ERR_DECODE');
    expect(err.message).toMatch(/^bad\/face\.jpg: /);
    expect(process.memoryUsage().rss - before).toBeLessThan(200e6);
  });

  it('the extension does not matter: bytes decide (a JPEG named .png is PIL-decoded, junk named .jpg is refused)', () => {
    const ref = refs.find((r) => r.file === 'face0_112_q75.jpg')!;
    expectPilPixels(decodeImage(face, 'face.png', { jpeg: 'pil' }), ref);
    const err = failure(() => decodeImage(Buffer.from('not an image at all'), 'x.jpg', { jpeg: 'pil' }));
    expect([err.code, err.message]).toEqual(['VA_ERR_DECODE', 'x.jpg: not a JPEG, PNG or BMP image']);
  });

  it('decodeJpegPil itself refuses the forged sizes before allocating (no DecodeError escapes untyped)', () => {
    expect(() => decodeJpegPil(withDeclaredSize(face, 60000, 60000), 'big.jpg', MAX_IMAGE_PIXELS)).toThrow(/^big\.jpg: bad image size 60000×60000/);
    expect(() => decodeJpegPil(withDeclaredSize(face, 8000, 8000), 'forged.jpg', MAX_IMAGE_PIXELS)).toThrow(/^forged\.jpg: 8000×8000 needs \d+ blocks, more than \d+ bytes can code/);
  });
});
