/**
 * `predict --render`: a short real clip through detection, tracking and a (test-only) seed model,
 * drawn in the seed's demo layout and encoded by node-av. The output is checked with ffprobe and by
 * decoding frames with the ffmpeg CLI: duration, frame count, frame rate, copied audio, and the
 * overlay changing pixels where the face is (found independently by the face detector) and not
 * elsewhere in the frame.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { DEFAULT_DETECTOR_OPTIONS } from '../../src/models/face-detector/index.js';
import { selectBackend } from '../../src/models/backend.js';
import { predict } from '../../src/predict/predict.js';
import { affectLayout } from '../../src/render/affect-frame.js';
import { media } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

interface ProbeStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  r_frame_rate: string;
  duration: string;
  nb_frames: string;
}
const probe = (file: string): ProbeStream[] =>
  (JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,r_frame_rate,duration,nb_frames', '-of', 'json', file]).toString()) as { streams: ProbeStream[] })
    .streams;

/** Frame `n` of a video as RGB24, optionally scaled (ffmpeg CLI, independent of node-av). */
function frameAt(file: string, n: number, size?: { w: number; h: number }): Buffer {
  const vf = `select=eq(n\\,${n})${size ? `,scale=${size.w}:${size.h}:flags=bilinear` : ''}`;
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', vf, '-vsync', '0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
}

describe('predict --render', () => {
  let input: string;
  let dir: string;
  let model: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'va-render-'));
    // The first 1.2 s of a real clip (stream copy: its own H.264 and MP3 packets), to keep the test short.
    input = path.join(dir, 'short.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', media('single_face.mp4'), '-t', '1.2', '-c', 'copy', input]);
    model = await importTestModel('cnn');
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the annotated video at the input frame rate with the audio copied, and rows as before', async () => {
    const out = path.join(dir, 'rows.jsonl');
    const video = path.join(dir, 'annotated.mp4');
    const s = await predict({ model, input, out, render: video, backend: 'wasm' });
    expect(s.rows).toBeGreaterThan(25);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(s.rows);
    const src = probe(input);
    const got = probe(video);
    const sv = src.find((x) => x.codec_type === 'video')!;
    const ov = got.find((x) => x.codec_type === 'video')!;
    expect(s.rendered).toMatchObject({ file: video, frames: Number(sv.nb_frames), codec: 'libx264', audio: true });
    expect(ov).toMatchObject({ codec_name: 'h264', width: 1920, height: 1080, r_frame_rate: sv.r_frame_rate, nb_frames: sv.nb_frames });
    const [num, den] = sv.r_frame_rate.split('/').map(Number) as [number, number];
    expect(Math.abs(Number(ov.duration) - Number(sv.duration))).toBeLessThanOrEqual((den / num) * 1.01);
    // The audio is a stream copy: same codec, same packets.
    const sa = src.find((x) => x.codec_type === 'audio')!;
    const oa = got.find((x) => x.codec_type === 'audio')!;
    expect(oa).toMatchObject({ codec_name: sa.codec_name, nb_frames: sa.nb_frames });
    expect(existsSync(`${video}.partial`)).toBe(false);

    // The overlay: compare output frame 30 with the same input frame scaled into the layout.
    const n = 25;
    const L = affectLayout({ width: 640, height: 360 }, { au: true, expr: true, va: true });
    const outRgb = frameAt(video, n);
    const plain = frameAt(input, n, { w: L.frameWidth, h: L.frameHeight });
    await selectBackend('wasm');
    const detector = await FaceDetector.load();
    let box: readonly number[];
    try {
      const faces = (await detector.createSession(DEFAULT_DETECTOR_OPTIONS).detect({ data: new Uint8Array(frameAt(input, n)), width: 640, height: 360 })).faces;
      expect(faces).toHaveLength(1);
      box = faces[0]!.box;
    } finally {
      detector.close();
    }
    const k = L.frame.scale;
    const region = { x0: L.frame.x + box[0]! * k - 40, y0: L.frame.y + box[1]! * k - 50, x1: L.frame.x + (box[0]! + box[2]!) * k + 260, y1: L.frame.y + (box[1]! + box[3]!) * k + 40 };
    let changed = 0;
    let inside = 0;
    for (let y = 0; y < L.frameHeight; y++) {
      for (let x = 0; x < L.frameWidth; x++) {
        const o = ((L.frame.y + y) * L.width + L.frame.x + x) * 3;
        const p = (y * L.frameWidth + x) * 3;
        const d = Math.max(Math.abs(outRgb[o]! - plain[p]!), Math.abs(outRgb[o + 1]! - plain[p + 1]!), Math.abs(outRgb[o + 2]! - plain[p + 2]!));
        if (d <= 80) continue;
        changed++;
        const X = L.frame.x + x;
        const Y = L.frame.y + y;
        if (X >= region.x0 && X <= region.x1 && Y >= region.y0 && Y <= region.y1) inside++;
      }
    }
    expect(changed).toBeGreaterThan(1500);
    expect(inside / changed).toBeGreaterThan(0.97);
    // The bar panels and the valence/arousal plot are drawn (not a flat background).
    for (const r of [L.au!, L.expr!, L.va!]) {
      const colours = new Set<number>();
      for (let y = r.y + 60; y < r.y + r.h - 10; y += 3) for (let x = r.x + 10; x < r.x + r.w - 10; x += 3) colours.add(outRgb.readUIntBE((y * L.width + x) * 3, 3) >> 4);
      expect(colours.size).toBeGreaterThan(8);
    }
  }, 120_000);

  it('--render-only writes only the video; bad arguments are clear errors', async () => {
    const video = path.join(dir, 'only.mkv');
    const s = await predict({ model, input, render: video, renderOnly: true, backend: 'wasm' });
    const frames = Number(probe(input).find((x) => x.codec_type === 'video')!.nb_frames);
    expect(frames).toBeGreaterThan(30);
    expect(s.rendered?.frames).toBe(frames);
    expect(probe(video).map((x) => x.codec_type).sort()).toEqual(['audio', 'video']);
    await expect(predict({ model, input, renderOnly: true })).rejects.toThrow(/--render-only needs --render/);
    await expect(predict({ model, input })).rejects.toThrow(/--out <file> is required/);
    await expect(predict({ model, input, out: path.join(dir, 'r.jsonl'), render: path.join(dir, 'x.gif') })).rejects.toThrow(/\.mp4, \.mkv or \.mov/);
    await expect(predict({ model, input: dir, out: path.join(dir, 'r.jsonl'), render: path.join(dir, 'x.mp4') })).rejects.toThrow(/video --input/);
  }, 120_000);
});
