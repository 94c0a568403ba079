/**
 * FFmpeg's log (issue 19 #15): the command-line tools print none of FFmpeg's expected start-up
 * chatter (the probe's "not on whitelist" / "Failed to open codec" for every stream, swscale's
 * "deprecated pixel format" for every JPEG), through the real built CLI on the real test media.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media, repoRoot } from '../helpers/media.js';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const NOISE = /not on whitelist|Failed to open codec|Could not find codec parameters|analyzeduration|swscaler|deprecated pixel format/;
const model = path.join(repoRoot, 'config', 'models', 'default-expressions');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ffmpeg-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function predict(input: string, out: string): Promise<{ code: number | string; stderr: string }> {
  const d = spawnDaemon(['predict', '--model', model, '--input', input, '--out', out, '--backend', 'wasm']);
  const code = await d.exited;
  return { code, stderr: d.stderr.join('') };
}

describe("FFmpeg's log on the command line", { timeout: 240_000 }, () => {
  it('daemon predict on a video with an audio track: no probe noise, only its own lines', async () => {
    const r = await predict(media('single_face.mp4'), path.join(dir, 'video.jsonl'));
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(NOISE);
    expect(r.stderr).not.toMatch(/^\[|^ffmpeg:/m);
  });

  it('daemon predict on a folder of JPEGs: no swscale line per image', async () => {
    const faces = path.join(dir, 'faces');
    mkdirSync(faces);
    for (let i = 0; i < 4; i++) copyFileSync(media('multi_face.jpg'), path.join(faces, `${i}.jpg`));
    const r = await predict(faces, path.join(dir, 'faces.jsonl'));
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(NOISE);
  });
});
