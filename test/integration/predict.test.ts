/**
 * `predict` on real files with models imported from the reference checkpoints: image directories
 * (rows equal PyTorch's numbers, windows per spec §7.3 over cached features), the test video
 * through the daemon's own detect/align/track stages (JSONL and CSV), and every failure.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnalyticsError } from '../../src/core/errors.js';
import { selectBackend } from '../../src/models/backend.js';
import { TASKS, disposeCnnOutput, ensembleLogits, loadModelDir, preprocessFacePixelsBatch, readLogits, type MemberLogits } from '../../src/models/seed/index.js';
import { tf, type Tensor2D, type Tensor3D } from '../../src/models/tf.js';
import { readPng } from '../helpers/read-png.js';
import { readImage } from '../../src/predict/image-dir.js';
import { importSeedCommand } from '../../src/import/import-command.js';
import { predict, type PredictOptions } from '../../src/predict/predict.js';
import { encodePng } from '../../src/streams/encode-image.js';
import type { PredictionRow } from '../../src/predict/rows.js';
import { cut, pngWithRowsMissing, withTrailingGarbage } from '../helpers/damaged-images.js';
import { media, repoRoot } from '../helpers/media.js';

const fx = path.join(repoRoot, 'test/fixtures/seed');
interface Probs { au_prob: number[]; expr_prob: number[]; valence: number; arousal: number }
interface SeqProbs { au_prob: number[][]; expr_prob: number[][]; valence: number[]; arousal: number[] }
const expected = JSON.parse(readFileSync(path.join(fx, 'expected.json'), 'utf8')) as {
  cnn: { members: { outputs: Record<'134' | '112', Probs[]> }[]; ensemble: Record<'134' | '112', Probs[]> };
  cnn_rnn: { sequences: { size: number; faces: number[] }[]; ensemble: SeqProbs[] };
};
const TOL = 1e-4;
const maxErr = (a: readonly number[], b: readonly number[]): number => (a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0));
/** A fixture face (134×134), decoded by the seed package's test-only PNG reader. */
const readPngFace = (i: number) => readPng(path.join(fx, `faces/face${i}_134.png`));
const readJsonl = (file: string): PredictionRow[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);

/** Minimal 8-bit RGB PNG writer (for shapes the fixtures lack). */
function writePng(file: string, width: number, height: number, rgb: Uint8Array): void {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

let root: string;
let cnnModel: string;
let rnnModel: string;
let baseline = 0;
const run = (o: Omit<PredictOptions, 'backend'>) => predict({ backend: 'wasm', ...o });

/** A directory of copies of fixture faces, named so that sorting keeps the given order. */
function faceDir(name: string, faces: readonly number[], size: '134' | '112'): string {
  const d = path.join(root, name);
  faces.forEach((f, i) => copyFileSync(path.join(fx, `faces/face${f}_${size}.png`), path.join(d, `img_${String(i).padStart(3, '0')}.png`)));
  return d;
}

beforeAll(async () => {
  await selectBackend('wasm');
  root = await mkdtemp(path.join(tmpdir(), 'predict-'));
  cnnModel = path.join(root, 'cnn');
  rnnModel = path.join(root, 'rnn');
  await importSeedCommand({ kind: 'cnn', files: ['cnn_member0.pth', 'cnn_member1_legacy.pth'].map((f) => path.join(fx, f)), out: cnnModel });
  await importSeedCommand({ kind: 'cnn-rnn', seqLen: 6, files: ['cnn_rnn_member0_legacy.pth', 'cnn_rnn_member1.pth'].map((f) => path.join(fx, f)), out: rnnModel });
  for (const d of ['c134', 'c112', 's0', 's1', 'long', 'odd', 'jpeg', 'empty', 'broken']) await mkdir(path.join(root, d));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

describe('predict on a directory of aligned faces', () => {
  it.each(['134', '112'] as const)('CNN: one row per image, equal to the PyTorch ensemble (%s px faces, batches of 4)', async (size) => {
    const dir = faceDir(`c${size}`, [0, 1, 2, 3, 4, 5], size);
    const out = path.join(root, `cnn${size}.jsonl`);
    const s = await run({ model: cnnModel, input: dir, out, batch: 4, members: true });
    expect([s.input, s.kind, s.frames, s.rows]).toEqual(['images', 'cnn', 6, 6]);
    const rows = readJsonl(out);
    const thresholds = (JSON.parse(readFileSync(path.join(cnnModel, 'manifest.json'), 'utf8')) as { tasks: { AU: { thresholds: number[] } } }).tasks.AU.thresholds;
    rows.forEach((r, i) => {
      const want = expected.cnn.ensemble[size][i];
      expect([r.frame, r.source, r.trackId]).toEqual([i, `img_00${i}.png`, undefined]);
      expect(maxErr(want?.au_prob ?? [], r.au!.probs)).toBeLessThan(TOL);
      expect(maxErr(want?.expr_prob ?? [], r.expr.probs)).toBeLessThan(TOL);
      expect(maxErr([want?.valence ?? NaN, want?.arousal ?? NaN], [r.va!.valence, r.va!.arousal])).toBeLessThan(TOL);
      expect(r.au!.active).toEqual(r.au!.probs.map((p, j) => (p > (thresholds[j] ?? 1) ? 1 : 0)));
      r.members?.forEach((m, k) => expect(maxErr(expected.cnn.members[k]?.outputs[size][i]?.au_prob ?? [], m.au!.probs)).toBeLessThan(TOL));
      expect(r.members?.map((m) => m.name)).toEqual(['student_0', 'student_1']);
    });
  });

  it('a teacher imported next to a student is not averaged in (the authors merge the students only), unless the manifest says so', async () => {
    await mkdir(path.join(root, 'teacher-faces'));
    const dir = faceDir('teacher-faces', [0, 1, 2, 3, 4, 5], '134');
    const files = ['cnn_member0.pth', 'cnn_member1_legacy.pth'].map((f) => path.join(fx, f));
    const students = path.join(root, 'cnn-teacher-student');
    const withTeacher = path.join(root, 'cnn-teacher-averaged');
    await importSeedCommand({ kind: 'cnn', roles: ['teacher', 'student'], files, out: students });
    await importSeedCommand({ kind: 'cnn', roles: ['teacher', 'student'], files, out: withTeacher, ensembleWithTeacher: true });
    const outS = path.join(root, 'teacher-student.jsonl');
    const outT = path.join(root, 'teacher-averaged.jsonl');
    await run({ model: students, input: dir, out: outS, batch: 4, members: true });
    await run({ model: withTeacher, input: dir, out: outT, batch: 4, members: true });
    const rowsS = readJsonl(outS);
    const rowsT = readJsonl(outT);
    expect(rowsS).toHaveLength(6);
    rowsS.forEach((r, i) => {
      // The one student (fixture member 1) alone, not the mean with the teacher (member 0).
      const student = expected.cnn.members[1]!.outputs['134'][i]!;
      expect(r.members?.map((m) => [m.name, m.role])).toEqual([['student_0', 'student']]);
      expect(maxErr(student.au_prob, r.au!.probs)).toBeLessThan(TOL);
      expect(maxErr(student.expr_prob, r.expr.probs)).toBeLessThan(TOL);
      expect(maxErr([student.valence, student.arousal], [r.va!.valence, r.va!.arousal])).toBeLessThan(TOL);
      // The two answers differ on these faces by far more than the tolerance, so the check can fail.
      expect(maxErr(expected.cnn.ensemble['134'][i]!.au_prob, r.au!.probs)).toBeGreaterThan(100 * TOL);
    });
    rowsT.forEach((r, i) => {
      const both = expected.cnn.ensemble['134'][i]!;
      expect(r.members?.map((m) => [m.name, m.role])).toEqual([['teacher', 'teacher'], ['student_0', 'student']]);
      expect(maxErr(both.au_prob, r.au!.probs)).toBeLessThan(TOL);
      expect(maxErr(both.expr_prob, r.expr.probs)).toBeLessThan(TOL);
    });
  });

  it('CNN-RNN: the fixture sequences (seq_len 6) equal the PyTorch Seq_Model ensemble', async () => {
    for (const [k, seq] of expected.cnn_rnn.sequences.entries()) {
      const dir = faceDir(`s${k}`, seq.faces, seq.size === 134 ? '134' : '112');
      const out = path.join(root, `rnn${k}.jsonl`);
      await run({ model: rnnModel, input: dir, out });
      const rows = readJsonl(out);
      const want = expected.cnn_rnn.ensemble[k];
      expect(rows.map((r) => r.frame)).toEqual([0, 1, 2, 3, 4, 5]);
      rows.forEach((r, t) => {
        expect(maxErr(want?.au_prob[t] ?? [], r.au!.probs)).toBeLessThan(TOL);
        expect(maxErr(want?.expr_prob[t] ?? [], r.expr.probs)).toBeLessThan(TOL);
        expect(maxErr([want?.valence[t] ?? NaN, want?.arousal[t] ?? NaN], [r.va!.valence, r.va!.arousal])).toBeLessThan(TOL);
      });
    }
  });

  it("CNN-RNN --windows authors: 4 frames at seq_len 6 are cut as iloc[-2:4], frames 2-3 padded, and frames 0-1 get no row", async () => {
    for (const d of ['short4', 'short2']) await mkdir(path.join(root, d));
    const four = faceDir('short4', [0, 1, 2, 3], '134');
    const two = faceDir('short2', [2, 3], '134');
    const [authors, complete, twoOnly] = ['authors4', 'complete4', 'complete2'].map((n) => path.join(root, `${n}.jsonl`)) as [string, string, string];
    await run({ model: rnnModel, input: four, out: authors, windows: 'authors' });
    await run({ model: rnnModel, input: four, out: complete });
    await run({ model: rnnModel, input: two, out: twoOnly });
    const a = readJsonl(authors);
    const c = readJsonl(complete);
    const t = readJsonl(twoOnly);
    expect(a.map((r) => [r.frame, r.source])).toEqual([[2, 'img_002.png'], [3, 'img_003.png']]);
    expect(c.map((r) => r.frame)).toEqual([0, 1, 2, 3]);
    // The authors' window [2, 3, 3, 3, 3, 3] is the complete window of the two frames alone.
    a.forEach((r, i) => {
      expect(maxErr(t[i]!.au!.probs, r.au!.probs)).toBeLessThan(1e-6);
      expect(maxErr(t[i]!.expr.probs, r.expr.probs)).toBeLessThan(1e-6);
    });
    // …and not the complete mode's answer for the same frames, which saw frames 0-1 before them.
    expect(maxErr(c[2]!.au!.probs, a[0]!.au!.probs)).toBeGreaterThan(1e-4);
  });

  it('CNN-RNN: 14 frames → windows [0,6) [6,12) [8,14), earlier window wins; any batch size gives the same rows', async () => {
    const faces = Array.from({ length: 14 }, (_, i) => (i * 5) % 6);
    const dir = faceDir('long', faces, '134');
    const outs = [1, 2, 8].map((b) => path.join(root, `long${b}.jsonl`));
    for (const [i, b] of [1, 2, 8].entries()) await run({ model: rnnModel, input: dir, out: outs[i] ?? '', batch: b });
    const rows = readJsonl(outs[0] ?? '');
    for (const o of outs.slice(1)) expect(readJsonl(o)).toEqual(rows);

    // Reference straight from the model: CNN on all frames, GRU on each window separately.
    const model = await loadModelDir(rnnModel);
    const perMember: MemberLogits[] = [];
    const input = preprocessFacePixelsBatch(faces.map(readPngFace));
    for (const m of model.members) {
      const o = m.model.cnnFeatures(input);
      const win = (start: number) =>
        tf.tidy(() => {
          const take = (f: Tensor2D): Tensor3D => tf.expandDims(tf.slice(f, [start, 0], [6, -1]), 0) as Tensor3D;
          return m.model.gruHeads({ EXPR: take(o.features.EXPR), AU: take(o.features.AU), VA: take(o.features.VA) });
        });
      const windows = [0, 6, 8].map(win);
      const pieces: Record<string, Float32Array[]> = { EXPR: [], AU: [], VA: [] };
      for (const [w, g] of windows.entries()) {
        const l = await readLogits(g);
        const n = { EXPR: 7, AU: 8, VA: 40 } as const;
        // Window 2 covers 8..13 but only contributes frames 12 and 13 (positions 4, 5).
        for (const t of TASKS) pieces[t]?.push(w < 2 ? l[t] : l[t].slice(4 * n[t]));
      }
      const cat = (xs: Float32Array[] = []) => Float32Array.from(xs.flatMap((x) => [...x]));
      perMember.push({ EXPR: cat(pieces.EXPR), AU: cat(pieces.AU), VA: cat(pieces.VA) });
      tf.dispose(windows.flatMap((g) => [g.EXPR, g.AU, g.VA]));
      disposeCnnOutput(o);
    }
    input.dispose();
    model.dispose();
    const frames = ensembleLogits(perMember, { thresholds: new Array<number>(8).fill(0.5) });
    expect(rows).toHaveLength(14);
    rows.forEach((r, t) => {
      const f = frames[t];
      expect(maxErr(Array.from(f?.au!.probabilities ?? []), r.au!.probs)).toBeLessThan(2e-6);
      expect(maxErr(Array.from(f?.expr.probabilities ?? []), r.expr.probs)).toBeLessThan(2e-6);
      expect(maxErr([f?.va!.valence ?? NaN, f?.va!.arousal ?? NaN], [r.va!.valence, r.va!.arousal])).toBeLessThan(2e-6);
    });
  });

  it('JPEG and non-square images: decoded as PIL decodes them, then Resize(134) + CenterCrop(112) on any aspect', async () => {
    const dir = path.join(root, 'jpeg');
    // A 1920×1280 JPEG shipped with @vladmandic/face-api (the fixture faces' source photo).
    copyFileSync(path.join(repoRoot, 'node_modules/@vladmandic/face-api/demo/sample1.jpg'), path.join(dir, 'a.jpg'));
    const wide = readPngFace(2);
    // 134×112 (wider than tall): the shorter side is already 112 → resized to 134, crop from 160 wide.
    const cut = new Uint8Array(112 * 134 * 3);
    for (let y = 0; y < 112; y++) cut.set(wide.data.subarray((y + 11) * 134 * 3, (y + 12) * 134 * 3), y * 134 * 3);
    writePng(path.join(dir, 'b.png'), 134, 112, cut);
    const out = path.join(root, 'jpeg.csv');
    await run({ model: cnnModel, input: dir, out });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0]?.split(',') ?? [];
    expect(header.slice(0, 3)).toEqual(['frame', 'source', 'au.probs.AU1']);
    expect(header).toContain('expr.label');
    // The same pixels straight through the model.
    const faces = [await readImage(path.join(dir, 'a.jpg')), { data: cut, width: 134, height: 112 }];
    expect([faces[0]?.width, faces[0]?.height]).toEqual([1920, 1280]);
    const model = await loadModelDir(cnnModel);
    const input = preprocessFacePixelsBatch(faces);
    const perMember: MemberLogits[] = [];
    for (const m of model.members) {
      const o = m.model.cnnFeatures(input);
      perMember.push(await readLogits(o.logits));
      disposeCnnOutput(o);
    }
    input.dispose();
    model.dispose();
    ensembleLogits(perMember, { thresholds: new Array<number>(8).fill(0.5) }).forEach((f, i) => {
      const cells = lines[i + 1]?.split(',') ?? [];
      expect(cells.slice(0, 2)).toEqual([String(i), ['a.jpg', 'b.png'][i]]);
      expect(maxErr(Array.from(f.au!.probabilities), cells.slice(2, 10).map(Number))).toBeLessThan(2e-6);
      expect(cells[header.indexOf('expr.label')]).toBe(f.expr.label);
    });
  });
});

// Each decodes, detects and analyses all 309 frames: over a minute on a loaded 2-core machine.
describe('predict on a video (detect → align → track with the daemon stages)', { timeout: 240_000 }, () => {
  const video = media('utterance_1.mp4');
  const checkRow = (r: PredictionRow): void => {
    expect(r.au!.probs.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(Math.abs(r.expr.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    expect(Math.abs(r.va!.valence) <= 1 && Math.abs(r.va!.arousal) <= 1).toBe(true);
    expect(r.au!.active.every((a) => a === 0 || a === 1)).toBe(true);
  };
  let keys: string[] = [];

  it('CNN-RNN → JSONL: one row per frame and track, per-track sequences, members', async () => {
    const out = path.join(root, 'video.jsonl');
    const s = await run({ model: rnnModel, input: video, out, members: true, batch: 16 });
    expect(s.input).toBe('video');
    expect(s.frames).toBe(309);
    const rows = readJsonl(out);
    expect(rows).toHaveLength(s.faces);
    keys = rows.map((r) => `${r.frame}/${r.trackId}`);
    expect(new Set(keys).size).toBe(rows.length);
    const frames = new Set(rows.map((r) => r.frame));
    // One man talks to the camera for the whole clip: the face is found on (nearly) every frame.
    expect(frames.size).toBeGreaterThan(290);
    expect(Math.max(...frames)).toBeLessThan(309);
    for (const r of rows) {
      expect([r.source, typeof r.trackId, typeof r.pts]).toEqual(['utterance_1.mp4', 'number', 'number']);
      checkRow(r);
      expect(r.members).toHaveLength(2);
      for (const m of r.members ?? []) expect(Math.abs(m.expr.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    // Within a track, rows are in frame order.
    const byTrack = new Map<number, number[]>();
    for (const r of rows) byTrack.set(r.trackId ?? -1, [...(byTrack.get(r.trackId ?? -1) ?? []), r.frame]);
    for (const f of byTrack.values()) expect(f).toEqual([...f].sort((a, b) => a - b));
  });

  it('CNN → CSV: the same frames and tracks (same crops as the live stages)', async () => {
    const out = path.join(root, 'video.csv');
    await run({ model: cnnModel, input: video, out });
    const [header, ...lines] = readFileSync(out, 'utf8').trim().split('\n');
    const cols = header?.split(',') ?? [];
    expect(cols.slice(0, 4)).toEqual(['frame', 'source', 'trackId', 'pts']);
    expect(lines.map((l) => l.split(',')).every((c) => c.length === cols.length)).toBe(true);
    const csvKeys = lines.map((l) => l.split(',')).map((c) => `${c[0]}/${c[2]}`);
    expect(csvKeys.sort()).toEqual([...keys].sort());
    for (const l of lines) {
      const c = l.split(',');
      const expr = cols.flatMap((name, i) => (name.startsWith('expr.probs.') ? [Number(c[i])] : []));
      expect(Math.abs(expr.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
  });
});

describe('predict failures: clear message, no output file', () => {
  const out = (): string => path.join(root, 'fail.jsonl');
  async function fails(o: Omit<PredictOptions, 'backend' | 'out'>, message: RegExp, code?: string): Promise<void> {
    const err = await run({ out: out(), ...o }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnalyticsError);
    expect((err as Error).message).toMatch(message);
    if (code !== undefined) expect((err as AnalyticsError).code).toBe(code);
    expect(existsSync(out())).toBe(false);
    expect(readdirSync(root).some((n) => n.endsWith('.partial'))).toBe(false);
  }

  it('model directory missing or with a bad manifest', async () => {
    const input = path.join(root, 'c134');
    await fails({ model: path.join(root, 'nope'), input }, /nope\/manifest\.json: cannot read the model manifest/, 'VA_ERR_MODEL_FILES');
    const bad = path.join(root, 'badmodel');
    await mkdir(bad, { recursive: true });
    for (const f of readdirSync(cnnModel)) copyFileSync(path.join(cnnModel, f), path.join(bad, f));
    const m = JSON.parse(readFileSync(path.join(bad, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(bad, 'manifest.json'), JSON.stringify({ ...m, kind: 'lstm' }));
    await fails({ model: bad, input }, /invalid model manifest.*\n.*kind/, 'VA_ERR_MODEL_MANIFEST');
  });

  it('unreadable inputs: missing path, no images, a broken image, a non-media file; odd sizes are fine', async () => {
    await fails({ model: cnnModel, input: path.join(root, 'nothing-here') }, /--input .*nothing-here: not found/, 'VA_ERR_SOURCE_NOT_FOUND');
    await fails({ model: cnnModel, input: path.join(root, 'empty') }, /no \.png\/\.jpg\/\.jpeg\/\.bmp images/);
    writeFileSync(path.join(root, 'broken', 'x.png'), 'not a png');
    await fails({ model: cnnModel, input: path.join(root, 'broken') }, /broken\/x\.png: not a JPEG, PNG or BMP image/, 'VA_ERR_DECODE');
    // Odd sizes are decoded as stored (never resampled by the decoder) and go through the seed's
    // Resize(134) + CenterCrop(112) like any other.
    writePng(path.join(root, 'odd', 'x.png'), 112, 113, new Uint8Array(112 * 113 * 3).fill(128));
    copyFileSync(media('multi_face.jpg'), path.join(root, 'odd', 'y.jpg'));
    const odd = await run({ model: cnnModel, input: path.join(root, 'odd'), out: path.join(root, 'odd.jsonl') });
    expect(odd.rows).toBe(2);
    await fails({ model: cnnModel, input: path.join(fx, 'README.md') }, /not a readable media file/, 'VA_ERR_SOURCE_OPEN');
  });

  it('a truncated JPEG or PNG is VA_ERR_DECODE, not a concealed face with a score', async () => {
    // FFmpeg conceals what is missing (grey blocks, black rows) unless told not to; the seed's
    // model then scores the patch ("Neutral 0.85").
    const jpeg = readFileSync(media('multi_face.jpg'));
    // FFmpeg's PNG encoder writes the image data in many IDAT chunks, as libpng does.
    const face = readPngFace(0);
    const png = encodePng(face.data, face.width, face.height);
    for (const [name, bytes] of [
      ['cut.jpg', cut(jpeg, 0.6)],
      ['rows-missing.png', pngWithRowsMissing(png)],
    ] as const) {
      const d = path.join(root, `damaged-${name}`);
      await mkdir(d);
      copyFileSync(path.join(fx, 'faces/face1_134.png'), path.join(d, 'a.png'));
      writeFileSync(path.join(d, name), bytes);
      await fails({ model: cnnModel, input: d }, new RegExp(`damaged-${name.replace('.', '\\.')}/${name.replace('.', '\\.')}: `), 'VA_ERR_DECODE');
    }
    // A camera's bytes after the end of a complete image are not damage.
    const tail = path.join(root, 'trailing');
    await mkdir(tail);
    writeFileSync(path.join(tail, 'a.jpg'), withTrailingGarbage(jpeg));
    const s = await run({ model: cnnModel, input: tail, out: path.join(root, 'trailing.jsonl') });
    expect(s.rows).toBe(1);
  });

  it('bad options: output extension, batch size', async () => {
    const input = path.join(root, 'c134');
    const err = await run({ model: cnnModel, input, out: path.join(root, 'x.txt') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/must end in \.jsonl or \.csv/);
    await fails({ model: cnnModel, input, batch: 0 }, /--batch must be a positive integer/);
  });

  it('a video without faces', async () => {
    await fails({ model: cnnModel, input: media('no_face.mp4') }, /no_face\.mp4: no faces found in \d+ frame/, 'VA_ERR_INFERENCE');
  });
});
