import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_SIZE, MEAN_RGB } from '../../models/seed/constants.js';
import { preprocessFacePixels } from '../../models/seed/preprocess.js';
import { decodeImage } from '../../streams/decode-image.js';
import { encodeJpeg, encodePng } from '../../streams/encode-image.js';
import { cut, pngWithRowsMissing } from '../../../test/helpers/damaged-images.js';
import { readAffWild2 } from './aff-wild2.js';
import { createFaceBatchLoader } from './face-batch-loader.js';
import { resizeForCrop } from './face-transform.js';
import { SYNTHETIC_AU_COLOURS, SYNTHETIC_EXPR_COLOURS, writeSyntheticAffWild2, type SyntheticAffWild2 } from './synthetic.js';

let dir: string;
const files: string[] = [];
const per = INPUT_SIZE * INPUT_SIZE * 3;

function noise(w: number, h: number, seed: number): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s >>> 24;
  }
  return a;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'loader-'));
  for (const [i, [w, h]] of [[112, 112], [134, 134], [120, 160]].entries()) {
    const f = path.join(dir, `f${i}.png`);
    writeFileSync(f, encodePng(noise(w!, h!, i + 1), w!, h!));
    files.push(f);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The crop of a resized image computed the slow obvious way. */
const resizedCache = new Map<string, ReturnType<typeof resizeForCrop>>();
function resized(file: string): ReturnType<typeof resizeForCrop> {
  let r = resizedCache.get(file);
  if (r === undefined) resizedCache.set(file, (r = resizeForCrop(decodeImage(readFileSync(file), file))));
  return r;
}

function reference(file: string, top: number, left: number, flip: boolean): Float32Array {
  const img = resized(file);
  const out = new Float32Array(per);
  for (let y = 0; y < INPUT_SIZE; y++)
    for (let x = 0; x < INPUT_SIZE; x++)
      for (let c = 0; c < 3; c++) {
        const sx = left + (flip ? INPUT_SIZE - 1 - x : x);
        out[(y * INPUT_SIZE + x) * 3 + c] = img.data[((top + y) * img.width + sx) * 3 + c]! - MEAN_RGB[c as 0 | 1 | 2];
      }
  return out;
}

function findPlan(file: string, got: Float32Array): { top: number; left: number; flip: boolean } | undefined {
  const img = resized(file);
  const first = (top: number, left: number, flip: boolean): number => img.data[(top * img.width + left + (flip ? INPUT_SIZE - 1 : 0)) * 3]! - MEAN_RGB[0];
  for (let top = 0; top <= img.height - INPUT_SIZE; top++)
    for (let left = 0; left <= img.width - INPUT_SIZE; left++)
      for (const flip of [false, true]) {
        if (Math.fround(first(top, left, flip)) !== got[0]) continue;
        const r = reference(file, top, left, flip);
        if (r.every((v, i) => v === got[i])) return { top, left, flip };
      }
  return undefined;
}

describe('face batch loader', () => {
  it("'none' equals the daemon's eval preprocessing exactly", async () => {
    const load = createFaceBatchLoader();
    const faces = files.map((image) => ({ image }));
    const out = await load(faces, { kind: 'none' }, 0);
    expect(out.length).toBe(3 * per);
    for (const [i, f] of files.entries()) {
      const img = decodeImage(readFileSync(f), f);
      const want = preprocessFacePixels(img);
      expect(out.subarray(i * per, (i + 1) * per)).toEqual(want);
    }
  });

  it("'fixed' applies the original's one draw: x1 = y1 = int(22·v), flip iff v < ½", async () => {
    const load = createFaceBatchLoader();
    const faces = [{ image: files[0]! }, { image: files[0]! }];
    const a = await load(faces, { kind: 'fixed', v: 0.3 }, 5);
    expect(a.subarray(0, per)).toEqual(reference(files[0]!, 6, 6, true));
    expect(a.subarray(per)).toEqual(a.subarray(0, per));
    const b = await load(faces, { kind: 'fixed', v: 0.99 }, 9);
    expect(b.subarray(0, per)).toEqual(reference(files[0]!, 21, 21, false));
  });

  it("'per-image' draws crop and flip per image, deterministic in (seed, step, index)", async () => {
    const load = createFaceBatchLoader();
    const faces = Array.from({ length: 24 }, () => ({ image: files[1]! }));
    const a = await load(faces, { kind: 'per-image', seed: 3 }, 10);
    const again = await load(faces, { kind: 'per-image', seed: 3 }, 10);
    expect(again).toEqual(a);
    const other = await load(faces, { kind: 'per-image', seed: 3 }, 11);
    expect(other).not.toEqual(a);
    const plans = [0, 1, 2, 3, 4, 5].map((i) => findPlan(files[1]!, a.subarray(i * per, (i + 1) * per)));
    expect(plans.every((p) => p !== undefined)).toBe(true);
    // Different images of one batch get different draws; offsets stay inside [0, 22].
    expect(new Set(plans.map((p) => JSON.stringify(p))).size).toBeGreaterThan(3);
    for (const p of plans) expect(p!.top >= 0 && p!.top <= 22 && p!.left >= 0 && p!.left <= 22).toBe(true);
    // Non-square faces: resized 134×178 and cropped inside.
    const wide = await load([{ image: files[2]! }], { kind: 'per-image', seed: 1 }, 0);
    expect(findPlan(files[2]!, wide)).toBeDefined();
  });

  it('offsets and flips over many draws cover the range roughly uniformly', async () => {
    const { cropPlan } = await import('./face-transform.js');
    const tops = new Array<number>(23).fill(0);
    let flips = 0;
    const n = 23000;
    for (let i = 0; i < n; i++) {
      const p = cropPlan(134, 134, { kind: 'per-image', seed: 9 }, Math.floor(i / 20), i % 20);
      tops[p.top]!++;
      if (p.flip) flips++;
    }
    for (const c of tops) expect(Math.abs(c / n - 1 / 23)).toBeLessThan(0.01);
    expect(Math.abs(flips / n - 0.5)).toBeLessThan(0.02);
  });

  it('caches decoded faces (LRU) and names a missing or corrupt file', async () => {
    const load = createFaceBatchLoader({ cacheEntries: 2 });
    await load([{ image: files[0]! }, { image: files[1]! }, { image: files[0]! }], { kind: 'none' }, 0);
    expect(load.stats()).toMatchObject({ images: 3, decoded: 2 });
    await load([{ image: files[0]! }], { kind: 'none' }, 0);
    expect(load.stats().cacheHits).toBe(1);
    await expect(load([{ image: path.join(dir, 'nope.jpg') }], { kind: 'none' }, 0)).rejects.toThrow(/nope\.jpg: cannot read the face image/);
    const bad = path.join(dir, 'bad.jpg');
    writeFileSync(bad, 'not an image');
    await expect(load([{ image: bad }], { kind: 'none' }, 0)).rejects.toThrow(/bad\.jpg: not a JPEG, PNG or BMP/);
  });
});

describe('damaged faces never become training samples', () => {
  it('a truncated JPEG or PNG fails the batch with VA_ERR_DECODE naming the file, and is not cached', async () => {
    const load = createFaceBatchLoader();
    const pixels = noise(134, 134, 7);
    const jpeg = path.join(dir, 'cut.jpg');
    writeFileSync(jpeg, cut(encodeJpeg(pixels, 134, 134, 95), 0.6));
    const png = path.join(dir, 'rows-missing.png');
    writeFileSync(png, pngWithRowsMissing(encodePng(pixels, 134, 134)));
    for (const bad of [jpeg, png]) {
      const err = await load([{ image: files[0]! }, { image: bad }], { kind: 'none' }, 0).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as { code?: string } | undefined)?.code).toBe('VA_ERR_DECODE');
      expect((err as Error).message).toContain(bad);
    }
    // Nothing of a failed file was kept: asking again decodes (and fails) again.
    await expect(load([{ image: jpeg }], { kind: 'none' }, 0)).rejects.toThrow(/cut\.jpg/);
  });

  it('a FIFO named like a face is refused at once instead of waiting for a writer', async () => {
    const fifo = path.join(dir, 'fifo.jpg');
    execFileSync('mkfifo', [fifo]);
    const load = createFaceBatchLoader();
    await expect(load([{ image: fifo }], { kind: 'none' }, 0)).rejects.toThrow(/fifo\.jpg: cannot read the face image \(not a regular file\)/);
  });
});

describe('synthetic faces carry their labels in the pixels', () => {
  let ds: SyntheticAffWild2;
  beforeAll(async () => {
    ds = await writeSyntheticAffWild2({ root: path.join(dir, 'syn'), seed: 3, trainVideos: 2, valVideos: 1, framesPerVideo: 40 });
  });

  const nearest = (px: readonly number[], palette: readonly (readonly number[])[]): number => {
    let best = 0;
    let bestD = Infinity;
    palette.forEach((c, k) => {
      const d = c.reduce((a, v, i) => a + (v - px[i]!) ** 2, 0);
      if (d < bestD) [best, bestD] = [k, d];
    });
    return best;
  };

  it('EXPR from the face colour, AUs from marker colours, VA from the background, after augmentation', async () => {
    const load = createFaceBatchLoader();
    const expr = await readAffWild2('EXPR', ds);
    const au = await readAffWild2('AU', ds);
    const va = await readAffWild2('VA', ds);
    const rgbAt = (x: Float32Array, i: number, px: number, py: number): number[] => [0, 1, 2].map((c) => x[i * per + (py * INPUT_SIZE + px) * 3 + c]! + MEAN_RGB[c as 0 | 1 | 2]);
    const e = await load(expr.train, { kind: 'per-image', seed: 1 }, 0);
    let right = 0;
    expr.train.forEach((f, i) => {
      // Majority of nearest pastel over a ring of points inside the face.
      const votes = new Array<number>(7).fill(0);
      for (const [px, py] of [[56, 30], [40, 56], [72, 56], [56, 80], [45, 70], [67, 70]] as const) votes[nearest(rgbAt(e, i, px, py), SYNTHETIC_EXPR_COLOURS)]!++;
      if (votes.indexOf(Math.max(...votes)) === f.expr) right++;
    });
    expect(right / expr.train.length).toBeGreaterThan(0.9);
    const a = await load(au.train, { kind: 'per-image', seed: 2 }, 0);
    let auRight = 0;
    au.train.forEach((f, i) => {
      for (let j = 0; j < 8; j++) {
        let n = 0;
        const [c0, c1, c2] = SYNTHETIC_AU_COLOURS[j]!;
        for (let p = i * per; p < (i + 1) * per; p += 3) {
          if (Math.abs(c0! - a[p]! - MEAN_RGB[0]) < 25 && Math.abs(c1! - a[p + 1]! - MEAN_RGB[1]) < 25 && Math.abs(c2! - a[p + 2]! - MEAN_RGB[2]) < 25) n++;
        }
        if ((n >= 25 ? 1 : 0) === f.au![j]) auRight++;
      }
    });
    expect(auRight / (8 * au.train.length)).toBeGreaterThan(0.95);
    const v = await load(va.train, { kind: 'none' }, 0);
    const err = va.train.map((f, i) => {
      const [r, , b] = rgbAt(v, i, 2, 2);
      return Math.max(Math.abs((r! - 128) / 100 - f.va![0]), Math.abs((b! - 128) / 100 - f.va![1]));
    });
    expect(Math.max(...err)).toBeLessThan(0.12);
  });
});
