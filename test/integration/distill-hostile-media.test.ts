/**
 * Unlabelled media for distillation against broken or hostile files: one bad video (truncated,
 * not a video at all, a FIFO or a dangling link named like one) fails alone with its VA_ERR code,
 * as in `daemon align`, and the faces of the good ones are still labelled and kept; a set where
 * every file fails ends with one clear error that lists them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AnalyticsError } from '../../src/core/errors.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { loadTeacherLabeller, type TeacherLabeller } from '../../src/train/distill/teacher-labeller.js';
import { mediaFiles, prepareUnlabelled } from '../../src/train/distill/unlabelled.js';
import { selectTrainingBackend } from '../../src/train/engine/train-backend.js';
import { makeBadMedia } from '../helpers/bad-media.js';
import { media, repoRoot } from '../helpers/media.js';

const dir = mkdtempSync(path.join(tmpdir(), 'distill-hostile-'));
const config = loadConfig({ env: {} });
let detector: FaceDetector;
let teacher: TeacherLabeller;
let bad: Awaited<ReturnType<typeof makeBadMedia>>;
const videos = path.join(dir, 'videos');

beforeAll(async () => {
  await selectTrainingBackend('wasm');
  detector = await FaceDetector.load();
  teacher = await loadTeacherLabeller(path.join(repoRoot, 'config', 'models', 'default-expressions'));
  mkdirSync(videos);
  bad = await makeBadMedia(videos, media('utterance_1.mp4'));
  copyFileSync(media('single_face.mp4'), path.join(videos, 'good.mp4'));
  copyFileSync(media('no_face.mp4'), path.join(videos, 'empty-room.mp4'));
  execFileSync('mkfifo', [path.join(videos, 'pipe.mp4')]);
  symlinkSync(path.join(dir, 'nowhere.mp4'), path.join(videos, 'dangling.mp4'));
  mkdirSync(path.join(videos, 'folder.mp4'));
}, 120_000);
afterAll(async () => {
  detector.close();
  await teacher.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('unlabelled distillation media against broken files', () => {
  it('fails each broken file alone with its code and keeps the faces of the good one', async () => {
    const files = await mediaFiles([videos]);
    const failed: { video: string; code: string }[] = [];
    const r = await prepareUnlabelled({ files, cache: path.join(dir, 'cache'), every: 1 }, 'unlabelled videos', {
      detector, config, teacher, events: { videoFailed: (video: string, err: AnalyticsError) => failed.push({ video, code: err.code }) },
    });
    expect(r.faces.length).toBeGreaterThanOrEqual(60);
    expect(new Set(r.faces.map((f) => f.video))).toEqual(new Set(['good']));
    const expected = ['dangling', 'notes', 'pipe', 'truncated', 'unknown-codec'];
    expect(failed.map((f) => f.video).sort()).toEqual(expected);
    expect(r.failed.map((f) => path.basename(f.file, '.mp4').replace(/\.avi$/, '')).sort()).toEqual(expected);
    for (const f of r.failed) expect(f.code).toMatch(/^VA_ERR_/);
    const codes = Object.fromEntries(r.failed.map((f) => [path.basename(f.file), f.code]));
    expect(codes).toEqual({
      'dangling.mp4': 'VA_ERR_SOURCE_NOT_FOUND',
      'notes.mp4': 'VA_ERR_SOURCE_OPEN',
      'pipe.mp4': 'VA_ERR_SOURCE_OPEN',
      'truncated.mp4': 'VA_ERR_SOURCE_OPEN',
      'unknown-codec.avi': 'VA_ERR_UNSUPPORTED_CODEC',
    });
    expect(failed.find((f) => f.video === 'notes')?.code).toBe(r.failed.find((f) => f.file === bad.notVideo)?.code);
    expect(r.files.map((f) => path.basename(f))).toEqual(['empty-room.mp4', 'good.mp4']);
    // The report says which files were left out, and why.
    const reasons = r.report.skipped.map((s) => s.reason).join('; ');
    expect(reasons).toMatch(/could not be aligned \[VA_ERR_/);
    expect(reasons).toMatch(/file without faces/);
  }, 180_000);

  it('ends with one clear error naming every file when none can be aligned', async () => {
    const files = [bad.notVideo, bad.truncated, path.join(videos, 'pipe.mp4')];
    const err = await prepareUnlabelled({ files, cache: path.join(dir, 'cache-none'), every: 1 }, 'held out', { detector, config, teacher }).then(
      () => undefined,
      (e: unknown) => e as AnalyticsError,
    );
    expect(err?.code).toBe('VA_ERR_TRAIN');
    expect(err?.message).toMatch(/held out: none of the 3 files could be aligned/);
    for (const n of ['notes.mp4', 'truncated.mp4', 'pipe.mp4']) expect(err?.message).toContain(n);
    expect(err?.message).toMatch(/\[VA_ERR_[A-Z_]+\]/);
  }, 120_000);
});
