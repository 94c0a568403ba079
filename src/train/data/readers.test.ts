import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, readImageFile } from '../../streams/decode-image.js';
import { encodePng } from '../../streams/encode-image.js';
import { readAfewVa } from './afew-va.js';
import { readDisfa } from './disfa.js';
import { EXPW_TO_AFFWILD2, readExpw } from './expw.js';
import { facesFor, readManifest } from './manifest.js';
import { loadPreset, undersampleAffWild2Expr } from './presets.js';
import { writeSyntheticAffWild2, type SyntheticAffWild2 } from './synthetic.js';
import type { LabelledFace } from './types.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'readers-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function solid(w: number, h: number, rgb: readonly [number, number, number]): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) a.set(rgb, i * 3);
  return a;
}

/** A 24-bit BMP (bottom-up BGR rows padded to 4 bytes), as OpenFace writes DISFA faces. */
function bmp(rgb: Uint8Array, w: number, h: number): Buffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + row * h);
  buf.write('BM', 0);
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(row * h, 34);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = 54 + (h - 1 - y) * row + x * 3;
      buf[d] = rgb[s + 2]!;
      buf[d + 1] = rgb[s + 1]!;
      buf[d + 2] = rgb[s]!;
    }
  return buf;
}

async function disfaFixture(base: string): Promise<{ labels: string; images: string }> {
  const labels = path.join(base, 'ActionUnit_Labels');
  const images = path.join(base, 'aligned');
  for (const sn of ['SN001', 'SN002']) {
    await mkdir(path.join(labels, sn), { recursive: true });
    for (const [j, k] of [1, 2, 4, 6, 12, 15, 20, 25].entries()) {
      // Frame f (1-based) of AU at position j has intensity (f + j) % 6; SN002 lacks frame 4 in AU25.
      const lines = [1, 2, 3, 4].filter((f) => !(sn === 'SN002' && k === 25 && f === 4)).map((f) => `${f},${(f + j) % 6}`);
      await writeFile(path.join(labels, sn, `${sn}_au${k}.txt`), lines.join('\n') + '\n');
    }
    const dir = path.join(images, `LeftVideo${sn}_comp`, `LeftVideo${sn}_comp_aligned`);
    await mkdir(dir, { recursive: true });
    for (const f of [1, 2, 4, 9]) {
      const px = new Uint8Array(20 * 18 * 3).map((_, i) => (i * 7 + f) % 256);
      await writeFile(path.join(dir, `LeftVideo${sn}_comp_${String(f).padStart(6, '0')}.bmp`), bmp(px, 20, 18));
    }
  }
  return { labels, images };
}

describe('DISFA reader', () => {
  it('intensity ≥ 2 → active for the 8 AUs; frame = last _ token − 1; incomplete frames skipped', async () => {
    const src = await disfaFixture(path.join(root, 'disfa'));
    const { faces, report } = await readDisfa(src);
    const sn1 = faces.filter((f) => f.video === 'SN001');
    expect(sn1.map((f) => f.frame)).toEqual([0, 1, 3]);
    // frame index 1 = label frame 2: intensities (2 + j) % 6 for j = 0..7 → 2,3,4,5,0,1,2,3
    expect(sn1[1]!.au).toEqual([1, 1, 1, 1, 0, 0, 1, 1]);
    expect(faces.filter((f) => f.video === 'SN002').map((f) => f.frame)).toEqual([0, 1]);
    expect(report.skipped).toEqual([{ reason: 'no label for the frame in every AU file', count: 3, example: 'SN001 frame 8' }]);
    // OpenFace's BMPs decode (bottom-up rows) to the pixels written.
    const img = await readImageFile(sn1[0]!.image);
    expect([img.width, img.height]).toEqual([20, 18]);
    expect(img.data[0]).toBe(1);
    expect(img.data[3 * 20 * 18 - 1]).toBe((((20 * 18 * 3 - 1) * 7) + 1) % 256);
  });

  it('a malformed label line is an error naming the file and line', async () => {
    const src = await disfaFixture(path.join(root, 'disfa-bad'));
    await writeFile(path.join(src.labels, 'SN002', 'SN002_au6.txt'), '1,0\n2,x\n');
    await expect(readDisfa(src)).rejects.toThrow(/SN002_au6\.txt:2: expected "frame,intensity"/);
    await writeFile(path.join(src.labels, 'SN002', 'SN002_au6.txt'), '1,0\n2,7\n');
    await expect(readDisfa(src)).rejects.toThrow(/SN002_au6\.txt:2: intensity must be an integer 0\.\.5/);
  });
});

describe('ExpW reader', () => {
  async function fixture(base: string, lst: string): Promise<{ root: string; cacheDir: string }> {
    await mkdir(path.join(base, 'label'), { recursive: true });
    await mkdir(path.join(base, 'image', 'origin'), { recursive: true });
    const w = 64;
    const h = 48;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < 32 ? [200, 30, 30] : [30, 30, 200], (y * w + x) * 3);
    await writeFile(path.join(base, 'image', 'origin', 'group.jpg'), encodePng(px, w, h)); // content sniffed, not the extension
    await writeFile(path.join(base, 'label', 'label.lst'), lst);
    return { root: base, cacheDir: path.join(base, 'cache') };
  }

  it('crops every face to its own file (no overwrite), pads outside black, remaps labels', async () => {
    const src = await fixture(
      path.join(root, 'expw'),
      ['group.jpg 0 4 2 26 40 50.1 3', 'group.jpg 1 -4 40 70 20 30.5 6', 'group.jpg 2 10 10 10 20 9.0 0', 'gone.jpg 0 0 0 10 10 1.0 1', ''].join('\n'),
    );
    const { faces, report } = await readExpw(src);
    expect(faces.map((f) => f.expr)).toEqual([EXPW_TO_AFFWILD2[3], EXPW_TO_AFFWILD2[6]]);
    expect(faces.map((f) => f.expr)).toEqual([4, 0]);
    expect(new Set(faces.map((f) => f.image)).size).toBe(2);
    const a = await readImageFile(faces[0]!.image);
    const b = await readImageFile(faces[1]!.image);
    expect([a.width, a.height]).toEqual([24, 36]);
    expect(a.data[0]! > 150 && a.data[2]! < 80).toBe(true); // red half
    expect([b.width, b.height]).toEqual([30, 24]);
    // Rows above the image (top −4) and columns past its right edge are black; inside is blue.
    expect(Math.max(b.data[0]!, b.data[1]!, b.data[2]!)).toBeLessThan(20);
    const inside = ((10 * 30) + 5) * 3;
    expect(b.data[inside + 2]! > 150).toBe(true);
    expect(report.skipped.map((s) => s.reason).sort()).toEqual(['empty or oversized face box', 'image missing or undecodable']);
    // A second read reuses the crops.
    const names = await readdir(src.cacheDir);
    await readExpw(src);
    expect(await readdir(src.cacheDir)).toEqual(names);
  });

  it.each([
    ['group.jpg 0 4 2 26 40 50.1', /label\.lst:2: expected 8 space-separated/],
    ['group.jpg 0 4 2 26 40 50.1 7', /label\.lst:2: expression must be an integer 0\.\.6/],
    ['group.jpg 0 4 2 x 40 50.1 1', /label\.lst:2: non-numeric/],
    ['../etc/passwd 0 4 2 26 40 50.1 1', /label\.lst:2: image name must be a plain file name/],
  ])('malformed line %j', async (bad, re) => {
    const src = await fixture(path.join(root, `expw-bad-${Math.random()}`), `group.jpg 0 4 2 26 40 50.1 3\n${bad}\n`);
    await expect(readExpw(src)).rejects.toThrow(re);
  });
});

describe('AFEW-VA reader', () => {
  it('÷10, landmark-driven §7.1 crop written once per frame', async () => {
    const base = path.join(root, 'afew');
    const clipDir = path.join(base, '03', '042');
    await mkdir(clipDir, { recursive: true });
    // Red square where the §7.1 box lands (eyes (80,90)/(120,90), mouth corners (85,130)/(115,130)
    // → centre (100,110), side 80), blue elsewhere.
    const w = 200;
    const px = new Uint8Array(w * w * 3);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) px.set(x >= 60 && x < 140 && y >= 70 && y < 150 ? [220, 20, 20] : [20, 20, 220], (y * w + x) * 3);
    const lm: [number, number][] = Array.from({ length: 68 }, () => [100, 100]);
    lm[36] = [75, 90];
    lm[39] = [85, 90];
    lm[42] = [115, 90];
    lm[45] = [125, 90];
    lm[48] = [85, 130];
    lm[54] = [115, 130];
    const frames: Record<string, unknown> = {};
    for (const [k, v, a] of [['00000', 5, -3], ['00001', -10, 10], ['00002', 0, 0]] as const) {
      frames[k] = { valence: v, arousal: a, landmarks: lm };
      if (k !== '00002') await writeFile(path.join(clipDir, `${k}.png`), encodePng(px, w, w));
    }
    await writeFile(path.join(clipDir, '042.json'), JSON.stringify({ frames }));
    const { faces, report } = await readAfewVa({ root: base, cacheDir: path.join(base, 'cache') });
    expect(faces.map((f) => [f.video, f.frame, f.va])).toEqual([
      ['03_042', 0, [0.5, -0.3]],
      ['03_042', 1, [-1, 1]],
    ]);
    expect(report.skipped).toEqual([{ reason: 'frame image missing or undecodable', count: 1, example: path.join(clipDir, '00002.png') }]);
    const crop = await readImageFile(faces[0]!.image);
    expect([crop.width, crop.height]).toEqual([112, 112]);
    let red = 0;
    for (let i = 0; i < 112 * 112; i++) if (crop.data[i * 3]! > 150 && crop.data[i * 3 + 2]! < 80) red++;
    expect(red / (112 * 112)).toBeGreaterThan(0.95);

    await writeFile(path.join(clipDir, '042.json'), JSON.stringify({ frames: { '00000': { valence: 11, arousal: 0, landmarks: lm } } }));
    await expect(readAfewVa({ root: base, cacheDir: path.join(base, 'cache') })).rejects.toThrow(/042\.json: frame "00000": valence and arousal must be numbers in \[-10, 10\]/);
  });
});

describe('JSON-lines manifest', () => {
  it('a FIFO or a link to /dev/zero named like a manifest is refused at once, not read for ever', async () => {
    const d = path.join(root, 'special');
    await mkdir(d, { recursive: true });
    const fifo = path.join(d, 'train.jsonl');
    execFileSync('mkfifo', [fifo]);
    await expect(readManifest(fifo)).rejects.toThrow(/train\.jsonl: cannot read the manifest \(not a regular file\)/);
    const zero = path.join(d, 'zero.jsonl');
    symlinkSync('/dev/zero', zero);
    await expect(readManifest(zero)).rejects.toThrow(/zero\.jsonl: cannot read the manifest \(not a regular file\)/);
  });

  it('paths relative to the manifest, any subset of labels, missing images reported', async () => {
    const base = path.join(root, 'mf');
    await mkdir(path.join(base, 'faces'), { recursive: true });
    await writeFile(path.join(base, 'faces', 'a.png'), encodePng(solid(8, 8, [1, 2, 3]), 8, 8));
    await writeFile(path.join(base, 'faces', 'b.png'), encodePng(solid(8, 8, [1, 2, 3]), 8, 8));
    const file = path.join(base, 'train.jsonl');
    await writeFile(
      file,
      [
        '# my faces',
        JSON.stringify({ image: 'faces/a.png', expr: 3, video: 'v', frame: 0 }),
        JSON.stringify({ image: 'faces/b.png', au: [0, 1, 0, 0, 1, 0, 0, 1], va: [0.5, -0.5] }),
        '',
        JSON.stringify({ image: 'faces/c.png', expr: 1 }),
      ].join('\n'),
    );
    const m = await readManifest(file);
    expect(m.faces.map((f) => f.image)).toEqual([path.join(base, 'faces', 'a.png'), path.join(base, 'faces', 'b.png')]);
    expect(m.faces[0]).toMatchObject({ expr: 3, video: 'v', frame: 0 });
    expect(facesFor('AU', m.faces)).toHaveLength(1);
    expect(facesFor('VA', m.faces)[0]!.va).toEqual([0.5, -0.5]);
    expect(m.report.skipped).toEqual([{ reason: 'image not found', count: 1, example: path.join(base, 'faces', 'c.png') }]);
  });

  it.each([
    ['{"image": "a.png", "expr": 7}', /:2: "expr" must be an integer 0\.\.6/],
    ['{"image": "a.png", "au": [0,1]}', /:2: "au" must be 8 values/],
    ['{"image": "a.png", "va": [2, 0]}', /:2: "va" must be \[valence, arousal\] in \[-1, 1\]/],
    ['{"image": "a.png"}', /:2: no label/],
    ['{"image": "a.png", "expr": 1, "labels": 3}', /:2: unknown key\(s\) labels/],
    ['{"image": "a.png", "expr": 1', /:2: not valid JSON/],
    ['[1, 2]', /:2: expected a JSON object/],
  ])('malformed line %s', async (bad, re) => {
    const file = path.join(root, `bad-${Math.random()}.jsonl`);
    await writeFile(file, `{"image": "a.png", "expr": 1}\n${bad}\n`);
    await expect(readManifest(file)).rejects.toThrow(re);
  });
});

describe('presets (spec §4.1)', () => {
  let ds: SyntheticAffWild2;
  beforeAll(async () => {
    ds = await writeSyntheticAffWild2({ root: path.join(root, 'aw2'), seed: 5, trainVideos: 3, valVideos: 1, framesPerVideo: 30 });
  });

  it('Mixed_EXPR undersampling runs in sequence over the whole array, positions recomputed', () => {
    // classes: N N N H N H S N N S N H (N=0, H=4, S=5), repeated
    const seq = [0, 0, 0, 4, 0, 4, 5, 0, 0, 5, 0, 4].flatMap((c) => [c, c]);
    const faces: LabelledFace[] = seq.map((expr, i) => ({ image: `${i}`, expr }));
    const { faces: out, report } = undersampleAffWild2Expr(faces);
    // Step by step: Neutral kept only at positions % 10 == 0, then Happiness at even positions of the new array, etc.
    let cur = faces.filter((f, i) => f.expr !== 0 || i % 10 === 0);
    cur = cur.filter((f, i) => f.expr !== 4 || i % 2 === 0);
    cur = cur.filter((f, i) => f.expr !== 5 || i % 2 === 0);
    expect(out.map((f) => f.image)).toEqual(cur.map((f) => f.image));
    expect(out.filter((f) => f.expr === 0).map((f) => f.image)).toEqual(['0', '20']); // position 10 is Happiness
    expect(report.kept).toBe(out.length);
  });

  it('Mixed_AU = Aff-Wild2 AU train + DISFA; Mixed_VA = Aff-Wild2 VA train ×5 + AFEW-VA; validation is Aff-Wild2', async () => {
    const disfa = await disfaFixture(path.join(root, 'disfa-preset'));
    const au = await loadPreset('Mixed_AU', { affWild2: ds, disfa });
    const aw = await loadPreset('Aff-Wild2', { affWild2: ds }, 'AU');
    const d = await readDisfa(disfa);
    expect(au.train.length).toBe(aw.train.length + d.faces.length);
    expect(au.val).toEqual(aw.val);
    expect(au.reports.map((r) => r.source)).toEqual(['Aff-Wild2 AU_Set/Training_Set', 'Aff-Wild2 AU_Set/Validation_Set', 'DISFA']);

    const afewRoot = path.join(root, 'afew-preset');
    await mkdir(path.join(afewRoot, '01', '001'), { recursive: true });
    await writeFile(path.join(afewRoot, '01', '001', '001.json'), JSON.stringify({ frames: {} }));
    const va = await loadPreset('Mixed_VA', { affWild2: ds, afewVa: { root: afewRoot, cacheDir: path.join(afewRoot, 'cache') } });
    const awVa = await loadPreset('Aff-Wild2', { affWild2: ds }, 'VA');
    expect(va.train.map((f) => f.image)).toEqual(awVa.train.filter((_, i) => i % 5 === 0).map((f) => f.image));
    await expect(loadPreset('Mixed_EXPR', { affWild2: ds })).rejects.toThrow(/Mixed_EXPR needs the ExpW dataset/);
    await expect(loadPreset('Mixed_AU', { affWild2: ds }, 'VA')).rejects.toThrow(/Mixed_AU is the AU mixture/);
  });
});

it('BMP decoding matches the pixels', () => {
  const px = new Uint8Array(5 * 3 * 3).map((_, i) => i * 5);
  const img = decodeImage(bmp(px, 5, 3), 'x.bmp');
  expect(Buffer.from(img.data).equals(Buffer.from(px))).toBe(true);
});
