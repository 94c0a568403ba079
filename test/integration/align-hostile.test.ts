/**
 * The aligned-faces cache under attack or simply reused (found by an adversarial review of the
 * distillation data path): planted links, names that collide with another file's track folders or
 * leave the output, a file replaced under the same name, a teacher whose weights are a link.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { readImageFile } from '../../src/streams/decode-image.js';
import { demoPhotos } from '../../src/streams/demo-source.js';
import { alignVideo, alignVideos } from '../../src/train/align/align-videos.js';
import { loadTeacherLabeller } from '../../src/train/distill/teacher-labeller.js';
import { media, repoRoot } from '../helpers/media.js';
import { corruptCopy } from '../helpers/hostile-media.js';

const dir = mkdtempSync(path.join(tmpdir(), 'align-hostile-'));
const config = loadConfig({ env: {} });
let detector: FaceDetector;
beforeAll(async () => {
  detector = await FaceDetector.load();
});
afterAll(() => {
  detector.close();
  rmSync(dir, { recursive: true, force: true });
});
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('aligned-faces output against hostile or reused input', () => {
  it('never writes through a link planted at a temporary file, nor through a linked track folder', async () => {
    const out = path.join(dir, 'planted');
    mkdirSync(out);
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, path.join(out, 'multi_face.landmarks.csv.part'));
    const r = await alignVideo(media('multi_face.jpg'), { input: media('multi_face.jpg'), out, detector, config, stills: true });
    expect(r.faces).toBe(5);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    const out2 = path.join(dir, 'linked-folder');
    mkdirSync(out2);
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(out2, 'multi_face'));
    await expect(alignVideo(media('multi_face.jpg'), { input: media('multi_face.jpg'), out: out2, detector, config, stills: true })).rejects.toThrow(/not a directory \(a link or a file\)/);
    expect(existsSync(path.join(elsewhere, '00001.jpg'))).toBe(false);
  });

  it('refuses names that leave the output or collide with another file’s track folders', async () => {
    const inputs = path.join(dir, 'names');
    mkdirSync(inputs);
    const dots = path.join(inputs, '...jpg');
    copyFileSync(media('multi_face.jpg'), dots);
    await expect(alignVideo(dots, { input: dots, out: path.join(dir, 'dots-out'), detector, config, stills: true })).rejects.toThrow(/starts with "\."/);
    expect(existsSync(path.join(dir, '00001.jpg'))).toBe(false);
    const pair = path.join(dir, 'pair');
    mkdirSync(pair);
    symlinkSync(media('multi_face.jpg'), path.join(pair, 'group.jpg'));
    symlinkSync(demoPhotos()[0]!, path.join(pair, 'group_2.jpg'));
    await expect(alignVideos({ input: pair, out: path.join(dir, 'pair-out'), detector, config, stills: true })).rejects.toThrow(/group_2 is the folder of a further track of group/);
  });

  it('refuses to mix crops of other settings into an output, and to write its records through a linked .complete', async () => {
    const out = path.join(dir, 'settings');
    const file = media('multi_face.jpg');
    const first = await alignVideo(file, { input: file, out, detector, config, stills: true });
    expect(first.faces).toBe(5);
    expect(JSON.parse(readFileSync(path.join(out, '.complete', '.settings.json'), 'utf8'))).toMatchObject({ alignment: { size: 112 }, quality: 95 });
    // The same settings: the finished file is skipped.
    expect((await alignVideo(file, { input: file, out, detector, config, stills: true })).skipped).toBe(true);
    const other = { ...config, alignment: { ...config.alignment, size: 96 }, detector: { ...config.detector, minScore: 0.7 } };
    await expect(alignVideo(file, { input: file, out, detector, config: other, stills: true })).rejects.toThrow(/aligned with other settings \(detector\.minScore 0\.5 → 0\.7, alignment\.size 112 → 96\)/);
    await expect(alignVideo(file, { input: file, out, detector, config, stills: true, quality: 80 })).rejects.toThrow(/quality 95 → 80/);
    const crop = readImageFile(path.join(out, 'multi_face', '00001.jpg'));
    expect((await crop).width).toBe(112);

    const linked = path.join(dir, 'linked-complete');
    mkdirSync(linked);
    const elsewhere = path.join(dir, 'complete-elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(linked, '.complete'));
    await expect(alignVideo(file, { input: file, out: linked, detector, config, stills: true })).rejects.toThrow(/not a directory \(a link or a file\)/);
    expect(existsSync(path.join(elsewhere, '.settings.json'))).toBe(false);
  });

  it('aligns a file named like the settings record, and treats a planted FIFO or a malformed marker as what they are', async () => {
    // A still called settings.jpg: its marker is .complete/settings.json, which the settings never use.
    const named = path.join(dir, 'settings.jpg');
    copyFileSync(media('multi_face.jpg'), named);
    const out = path.join(dir, 'named-out');
    expect((await alignVideo(named, { input: named, out, detector, config, stills: true })).faces).toBe(5);
    expect((await alignVideo(named, { input: named, out, detector, config, stills: true })).skipped).toBe(true);
    // A FIFO where the settings or a marker would be: an error naming it, not a hang.
    const fifoOut = path.join(dir, 'fifo-out');
    mkdirSync(path.join(fifoOut, '.complete'), { recursive: true });
    execFileSync('mkfifo', [path.join(fifoOut, '.complete', '.settings.json')]);
    await expect(alignVideo(media('multi_face.jpg'), { input: media('multi_face.jpg'), out: fifoOut, detector, config, stills: true })).rejects.toThrow(/\.settings\.json: not a regular file/);
    const fifoMarker = path.join(dir, 'fifo-marker');
    mkdirSync(path.join(fifoMarker, '.complete'), { recursive: true });
    execFileSync('mkfifo', [path.join(fifoMarker, '.complete', 'multi_face.json')]);
    await expect(alignVideo(media('multi_face.jpg'), { input: media('multi_face.jpg'), out: fifoMarker, detector, config, stills: true })).rejects.toThrow(/multi_face\.json: not a regular file/);
    // A marker that is JSON but not a marker: the file is aligned again, not trusted.
    writeFileSync(path.join(out, '.complete', 'settings.json'), '{"folders": 7}');
    const again = await alignVideo(named, { input: named, out, detector, config, stills: true });
    expect(again.skipped).toBe(false);
    expect(again.faces).toBe(5);
  });

  it('replaces the crops of a file that changed under the same name', async () => {
    const out = path.join(dir, 'replaced');
    const file = path.join(dir, 'clip.jpg');
    copyFileSync(media('multi_face.jpg'), file);
    await alignVideo(file, { input: file, out, detector, config, stills: true });
    const before = sha(path.join(out, 'clip', '00001.jpg'));
    copyFileSync(demoPhotos()[1]!, file);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const r = await alignVideo(file, { input: file, out, detector, config, stills: true });
    expect(r.skipped).toBe(false);
    expect(sha(path.join(out, 'clip', '00001.jpg'))).not.toBe(before);
  });

  it('keys a teacher by the content behind links too', async () => {
    const t = path.join(dir, 'teacher');
    cpSync(path.join(repoRoot, 'config', 'models', 'student-expressions'), t, { recursive: true });
    const bin = path.join(t, 'student_0.bin');
    const real = path.join(dir, 'weights.bin');
    copyFileSync(bin, real);
    rmSync(bin);
    symlinkSync(real, bin);
    const a = await loadTeacherLabeller(t);
    await a.close();
    const w = readFileSync(real);
    w.writeUInt8(w.readUInt8(w.length - 1) ^ 1, w.length - 1); // one bit of the last weight
    writeFileSync(real, w);
    const b = await loadTeacherLabeller(t);
    await b.close();
    expect(b.key).not.toBe(a.key);
  });
});

/** Writes a media file with the ffmpeg command line (test-time only). */
function ffmpeg(args: readonly string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

describe('daemon align on hostile videos: a clear error per video, the run goes on', { timeout: 240_000 }, () => {
  it('truncated, empty, FIFO, audio-only, 65535×65535 and a broken mkv each fail alone; the good video is aligned', async () => {
    const inputs = path.join(dir, 'hostile-videos');
    mkdirSync(inputs);
    copyFileSync(media('single_face.mp4'), path.join(inputs, 'b_good.mp4'));
    const full = readFileSync(media('utterance_1.mp4'));
    writeFileSync(path.join(inputs, 'a_truncated.mp4'), full.subarray(0, Math.floor(full.length * 0.4)));
    writeFileSync(path.join(inputs, 'c_empty.mp4'), '');
    execFileSync('mkfifo', [path.join(inputs, 'd_fifo.mp4')]);
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', path.join(inputs, 'e_audio_only.mp4')]);
    // An MJPEG AVI whose every size field says 65535×65535 (its frames are 64×48).
    const avi = path.join(dir, 'small.avi');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=5:duration=1', '-c:v', 'mjpeg', avi]);
    const bytes = readFileSync(avi);
    let patched = 0;
    for (let i = 0; i + 8 <= 0x200; i += 1) {
      if (bytes.readUInt32LE(i) === 64 && bytes.readUInt32LE(i + 4) === 48) {
        bytes.writeUInt32LE(65535, i);
        bytes.writeUInt32LE(65535, i + 4);
        patched++;
      }
    }
    expect(patched).toBeGreaterThan(1);
    writeFileSync(path.join(inputs, 'f_huge.avi'), bytes);
    const mkv = path.join(dir, 'whole.mkv');
    ffmpeg(['-i', media('single_face.mp4'), '-c', 'copy', mkv]);
    corruptCopy(mkv, path.join(inputs, 'g_broken.mkv'), { bytes: 400, at: 0.001 });

    const out = path.join(dir, 'hostile-out');
    const failed: string[] = [];
    const results = await alignVideos({ input: inputs, out, detector, config, events: { videoFailed: (video) => failed.push(video) } });
    const by = new Map(results.map((r) => [r.video, r]));
    expect(by.get('b_good')?.faces).toBeGreaterThan(10);
    expect(existsSync(path.join(out, '.complete', 'b_good.json'))).toBe(true);
    for (const [video, code] of [
      ['a_truncated', /VA_ERR_SOURCE_OPEN|VA_ERR_DECODE/],
      ['c_empty', /VA_ERR_SOURCE_OPEN/],
      ['e_audio_only', /VA_ERR_SOURCE_NO_VIDEO/],
      ['f_huge', /VA_ERR_SOURCE_TOO_LARGE/],
      ['g_broken', /VA_ERR_SOURCE_OPEN|VA_ERR_SOURCE_NO_VIDEO|VA_ERR_DECODE|VA_ERR_UNSUPPORTED_CODEC/],
    ] as const) {
      const r = by.get(video);
      expect(r?.failed?.code, video).toMatch(code);
      expect(r?.failed?.message, video).toMatch(/\S/);
      expect(existsSync(path.join(out, '.complete', `${video}.json`)), video).toBe(false);
    }
    // The FIFO fails too, as what it is, without being opened (which would wait for a writer).
    expect(by.get('d_fifo')?.failed?.message).toMatch(/not a regular file/);
    expect(failed.sort()).toEqual(['a_truncated', 'c_empty', 'd_fifo', 'e_audio_only', 'f_huge', 'g_broken']);
  });
});
