import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { selectBackend } from '../../src/models/backend.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { readImageFile } from '../../src/streams/decode-image.js';
import { alignVideos } from '../../src/train/align/align-videos.js';
import { readAffWild2Split } from '../../src/train/data/aff-wild2.js';
import { media } from '../helpers/media.js';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

let dir: string;
let videos: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'align-'));
  videos = path.join(dir, 'videos');
  // Links, not copies, of the committed media.
  mkdirSync(videos);
  symlinkSync(media('single_face.mp4'), path.join(videos, 'single_face.mp4'));
  symlinkSync(media('no_face.mp4'), path.join(videos, 'no_face.mp4'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon align (built CLI, real media)', () => {
  it('writes <video>/<frame:05d>.jpg 112×112 crops and a landmarks CSV, then skips finished videos', async () => {
    const out = path.join(dir, 'out');
    const d = spawnDaemon(['align', '--input', videos, '--out', out]);
    expect(await d.exited).toBe(0);
    const err = d.stderr.join('');
    expect(err).toMatch(/\[1\/2\] no_face/);
    expect(err).toMatch(/single_face: \d+ frame\(s\), \d+ face\(s\)/);
    const crops = (await readdir(path.join(out, 'single_face'))).sort();
    // 2.4 s at 30 fps: a face in (nearly) every frame, 1-based five-digit names.
    expect(crops.length).toBeGreaterThan(60);
    expect(crops[0]).toMatch(/^000\d\d\.jpg$/);
    expect(crops.every((c) => /^\d{5}\.jpg$/.test(c))).toBe(true);
    const img = await readImageFile(path.join(out, 'single_face', crops[0]!));
    expect([img.width, img.height]).toEqual([112, 112]);
    const csv = (await readFile(path.join(out, 'single_face.landmarks.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toMatch(/^frame,track,folder,score,box_x,box_y,box_w,box_h,left_eye_x/);
    const rows = csv.slice(1).map((l) => l.split(','));
    const inMain = rows.filter((r) => r[2] === 'single_face');
    expect(inMain.map((r) => `${r[0]!.padStart(5, '0')}.jpg`).sort()).toEqual(crops);
    expect(rows.every((r) => r.length === 18)).toBe(true);
    expect((await readFile(path.join(out, 'no_face.landmarks.csv'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect((await readdir(out)).filter((n) => n.startsWith('no_face') && !n.endsWith('.csv'))).toEqual([]);

    // The layout is what the Aff-Wild2 reader expects: label file line k+2 ↔ image {k+1:05d}.jpg.
    const annot = path.join(dir, 'annot', 'EXPR_Set', 'Training_Set');
    mkdirSync(annot, { recursive: true });
    writeFileSync(path.join(annot, 'single_face.txt'), ['h', ...Array.from({ length: 72 }, () => '4')].join('\n'));
    const r = await readAffWild2Split('EXPR', 'Training_Set', { annotations: path.join(dir, 'annot'), images: out });
    expect(r.faces.length).toBe(crops.filter((c) => Number(c.slice(0, 5)) <= 72).length);

    const again = spawnDaemon(['align', '--input', videos, '--out', out]);
    expect(await again.exited).toBe(0);
    expect(again.stderr.join('')).toMatch(/single_face: skipped \(already aligned\)/);
    expect(again.stderr.join('')).toMatch(/2 already aligned/);
  });

  it('a missing input is one error line and exit 1; a bad quality is refused while parsing, exit 2', async () => {
    const d = spawnDaemon(['align', '--input', path.join(dir, 'nope.mp4'), '--out', path.join(dir, 'x')]);
    expect(await d.exited).toBe(1);
    expect(d.stderr.join('')).toMatch(/error \[VA_ERR_SOURCE_NOT_FOUND\]: --input .*nope\.mp4: not found/);
    const q = spawnDaemon(['align', '--input', videos, '--out', path.join(dir, 'x'), '--quality', '101']);
    expect(await q.exited).toBe(2);
    expect(q.stderr.join('')).toMatch(/error: option '--quality <n>' argument '101' is invalid\. --quality must be an integer from 1 to 100/);
  });
});

describe('alignVideos resume (in process)', () => {
  let detector: FaceDetector;
  beforeAll(async () => {
    await selectBackend('wasm');
    detector = await FaceDetector.load();
  });
  afterAll(() => detector.close());

  it('an interrupted video is redone, keeping crops already written', async () => {
    const out = path.join(dir, 'resume');
    const config = loadConfig({ env: {} });
    const input = path.join(videos, 'single_face.mp4');
    const first = await alignVideos({ input, out, detector, config });
    expect(first[0]!.written).toBe(first[0]!.faces);
    // Simulate a kill mid-video: no completion marker, one crop missing.
    await unlink(path.join(out, '.complete', 'single_face.json'));
    const crops = (await readdir(path.join(out, 'single_face'))).sort();
    await unlink(path.join(out, 'single_face', crops[5]!));
    const second = await alignVideos({ input, out, detector, config });
    expect(second[0]!.skipped).toBe(false);
    expect(second[0]!.written).toBe(1);
    expect((await readdir(path.join(out, 'single_face'))).sort()).toEqual(crops);
    const third = await alignVideos({ input, out, detector, config });
    expect(third[0]!.skipped).toBe(true);
  });
});
