import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/media.js';
import { preprocessFacePixels } from '../../models/seed/preprocess.js';
import { decodeImage, type RgbImage } from '../../streams/decode-image.js';
import { encodeJpeg, encodePng } from '../../streams/encode-image.js';
import { readAfewVa } from './afew-va.js';
import { cropBox, readExpw } from './expw.js';
import { createFaceBatchLoader } from './face-batch-loader.js';

/**
 * The seed's authors read every training image with PIL (`Image.open(p).convert('RGB')`), so the
 * training loaders decode JPEG as PIL does (decode-jpeg-pil.ts), not with FFmpeg, whose IDCT,
 * chroma upsampling and colour matrix move about half the values by 1–36 levels.
 */
const jpegDir = path.join(repoRoot, 'test', 'fixtures', 'jpeg');
const CROPS = [
  path.join(repoRoot, 'test', 'fixtures', 'authors', 'cnn_faces', 'img_1.jpg'),
  ...['face0_112_q75.jpg', 'face1_112_q75_progressive.jpg', 'face2_112_q95.jpg', 'face3_112_q50.jpg', 'face0_134_q90_optimized.jpg', 'face1_134_q75.jpg', 'face4_134_q75_422.jpg', 'frame_134x134_q75.jpg', 'frame_111x113_q75.jpg'].map((f) => path.join(jpegDir, f)),
];

const pil = (bytes: Uint8Array, name: string): RgbImage => decodeImage(bytes, name, { jpeg: 'pil' });
const ffmpeg = (bytes: Uint8Array, name: string): RgbImage => decodeImage(bytes, name, { jpeg: 'ffmpeg' });
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A 200×200 photo-like JPEG (4:2:0, FFmpeg's encoder): smooth shading with texture, so decoders disagree. */
function photoJpeg(): Buffer {
  const w = 200;
  const px = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < w; x++) {
      const t = ((x * 37) ^ (y * 91)) & 31;
      px.set([(80 + x / 2 + t) & 255, (60 + y / 2 + t) & 255, (120 + (x + y) / 4) & 255], (y * w + x) * 3);
    }
  return encodeJpeg(px, w, w, 75);
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'loaders-pil-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("training loaders decode JPEG as the seed's PIL does", () => {
  it('the face batch loader gives, for each JPEG crop, the preprocessing of PIL’s pixels', async () => {
    const load = createFaceBatchLoader();
    const out = await load(CROPS.map((image) => ({ image })), { kind: 'none' }, 0);
    const per = out.length / CROPS.length;
    let differFromFfmpeg = 0;
    for (const [i, f] of CROPS.entries()) {
      const bytes = await readFile(f);
      const want = preprocessFacePixels(pil(bytes, f));
      const got = out.subarray(i * per, (i + 1) * per);
      expect(got.length).toBe(want.length);
      // Exact equality, compared as a largest difference (a diff of 37 632 floats is slow to print).
      let max = 0;
      for (let j = 0; j < want.length; j++) max = Math.max(max, Math.abs(got[j]! - want[j]!));
      expect(max, path.basename(f)).toBe(0);
      if (!sameBytes(pil(bytes, f).data, ffmpeg(bytes, f).data)) differFromFfmpeg++;
    }
    // The assertion above distinguishes the decoders: FFmpeg's pixels are not PIL's on these crops.
    expect(differFromFfmpeg).toBe(CROPS.length);
  });

  it('ExpW crops are cut from PIL’s pixels of the original JPEG', async () => {
    const base = path.join(root, 'expw');
    await mkdir(path.join(base, 'label'), { recursive: true });
    await mkdir(path.join(base, 'image', 'origin'), { recursive: true });
    const jpeg = photoJpeg();
    await writeFile(path.join(base, 'image', 'origin', 'group.jpg'), jpeg);
    await writeFile(path.join(base, 'label', 'label.lst'), 'group.jpg 0 20 30 150 170 50.1 3\n');
    const { faces } = await readExpw({ root: base, cacheDir: path.join(base, 'cache') });
    expect(faces).toHaveLength(1);
    const box = { top: 20, left: 30, right: 150, bottom: 170 };
    const want = cropBox(pil(jpeg, 'group.jpg'), box);
    const notWant = cropBox(ffmpeg(jpeg, 'group.jpg'), box);
    const written = await readFile(faces[0]!.image);
    // The crop is re-encoded at quality 95 (deterministic), so equal bytes mean equal source pixels.
    expect(written.equals(encodeJpeg(want.data, want.width, want.height, 95))).toBe(true);
    expect(written.equals(encodeJpeg(notWant.data, notWant.width, notWant.height, 95))).toBe(false);
  });

  it('an AFEW-VA frame stored as JPEG is aligned from PIL’s pixels (its crop equals that of a PNG of them)', async () => {
    const base = path.join(root, 'afew');
    const jpeg = photoJpeg();
    const lm: [number, number][] = Array.from({ length: 68 }, () => [100, 100]);
    lm[36] = [75, 90];
    lm[39] = [85, 90];
    lm[42] = [115, 90];
    lm[45] = [125, 90];
    lm[48] = [85, 130];
    lm[54] = [115, 130];
    const frames = JSON.stringify({ frames: { '00000': { valence: 5, arousal: -3, landmarks: lm } } });
    const asPil = pil(jpeg, 'frame.jpg');
    // Clip 001's frame holds the JPEG's bytes (content is sniffed, not the name); clip 002's a PNG of PIL's decode.
    for (const [clip, bytes] of [['001', jpeg], ['002', encodePng(asPil.data, asPil.width, asPil.height)]] as const) {
      const dir = path.join(base, '01', clip);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '00000.png'), bytes);
      await writeFile(path.join(dir, `${clip}.json`), frames);
    }
    const cacheDir = path.join(base, 'cache');
    const { faces } = await readAfewVa({ root: base, cacheDir });
    expect(faces.map((f) => f.video)).toEqual(['01_001', '01_002']);
    expect((await readdir(cacheDir)).sort()).toEqual(['01_001', '01_002']);
    const [fromJpeg, fromPng] = await Promise.all(faces.map(async (f) => readFile(f.image)));
    expect(fromJpeg!.equals(fromPng!)).toBe(true);
  });
});
