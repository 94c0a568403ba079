import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media, repoRoot } from '../../test/helpers/media.js';
import { decodeImage, MAX_IMAGE_PIXELS } from './decode-image.js';
import { decodeJpegPil } from './decode-jpeg-pil.js';
import { openSource } from './open-source.js';
import { analysisFilter } from './video-source.js';

/**
 * FFmpeg's x86 YUV→RGB24 fast path (swscale's unscaled yuv2rgb, used for 4:2:0 and 4:2:2 frames
 * of even height converted at their own size) writes whole 16-pixel blocks and, when the RGB rows
 * are packed tightly (stride = 3 × width), stops at the last 8-pixel multiple that fits: for a
 * width ≡ 1–7 (mod 16) the last 1–7 columns were never written. These tests hold every column of
 * the daemon's RGB to the ffmpeg command line's, whose frames are padded.
 */
const run = promisify(execFile);
const jpegDir = path.join(repoRoot, 'test', 'fixtures', 'jpeg');

/** The ffmpeg command line's rgb24 frames of a file (its filter graph, padded frames), one per decoded frame. */
async function cliRgb(file: string, opts: { vf?: string; frames?: number } = {}): Promise<Buffer> {
  const args = ['-v', 'error', '-nostdin', '-i', file, ...(opts.vf !== undefined ? ['-vf', opts.vf] : []), ...(opts.frames !== undefined ? ['-frames:v', String(opts.frames)] : []), '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'];
  const { stdout } = await run('ffmpeg', args, { encoding: 'buffer', maxBuffer: 256 << 20 });
  return stdout;
}

async function ffmpegMake(out: string, args: readonly string[]): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, out]);
  return out;
}

interface Diff {
  readonly max: number;
  /** Largest difference in each column, over all rows and channels. */
  readonly columns: readonly number[];
  readonly differing: number;
}

function diff(a: Uint8Array, b: Uint8Array, width: number): Diff {
  expect(a.length).toBe(b.length);
  const columns = new Array<number>(width).fill(0);
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d === 0) continue;
    differing++;
    const x = Math.floor(i / 3) % width;
    if (d > columns[x]!) columns[x] = d;
  }
  return { max: Math.max(0, ...columns), columns, differing };
}

/** "max 3 (columns 128–133: 0 0 1 0 0 0)": the edge is where the fault showed. */
function describeDiff(d: Diff): string {
  const edge = d.columns.slice(-8);
  return `max ${d.max}, last ${edge.length} columns ${edge.join(' ')}, ${d.differing} values differ`;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The CLI (FFmpeg 5.1 here) and node-av's FFmpeg share this conversion; measured 0–3 apart where both are sound. */
const CLI_BOUND = 3;
/** PIL's IDCT, upsampling and colour matrix are not FFmpeg's: measured up to 18 on these crops. */
const PIL_BOUND = 20;

const FIXTURES = [
  path.join(repoRoot, 'test', 'fixtures', 'authors', 'cnn_faces', 'img_1.jpg'),
  ...['frame_134x134_q75.jpg', 'face0_134_q90_optimized.jpg', 'face1_134_q75.jpg', 'face4_134_q75_422.jpg', 'frame_201x152_q50_422.jpg', 'frame_111x113_q75.jpg'].map((f) => path.join(jpegDir, f)),
];

describe('decodeImage through FFmpeg: every column is converted, at any width', () => {
  it.each(FIXTURES.map((f) => [path.relative(repoRoot, f), f] as const))(
    '%s: repeated decodes are identical, within a few levels of the ffmpeg CLI and of PIL in every column',
    async (_, file) => {
      const bytes = await readFile(file);
      // The CLI decodes in its own process meanwhile. Two decodes check that a repeat agrees; every
      // column itself is held to the CLI and PIL below.
      const cliDecode = cliRgb(file);
      const decodes = [0, 1].map(() => decodeImage(bytes, file));
      const first = decodes[0]!;
      for (const d of decodes) expect(same(d.data, first.data), 'repeated FFmpeg decodes differ').toBe(true);
      const cli = diff(first.data, await cliDecode, first.width);
      const pilDecode = decodeJpegPil(bytes, file, MAX_IMAGE_PIXELS);
      if (pilDecode.kind !== 'rgb') throw new Error(`${file}: ${pilDecode.reason}`);
      const pil = diff(first.data, pilDecode.data, first.width);
      console.log(`${path.basename(file)} ${first.width}×${first.height}: vs ffmpeg CLI ${describeDiff(cli)}; vs PIL ${describeDiff(pil)}`);
      expect(cli.max, `vs the CLI: ${describeDiff(cli)}`).toBeLessThanOrEqual(CLI_BOUND);
      expect(pil.max, `vs PIL: ${describeDiff(pil)}`).toBeLessThanOrEqual(PIL_BOUND);
    },
  );

  describe('stills made by the ffmpeg CLI at widths around multiples of 16', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'rgb-edge-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    // 130, 134, 1926 ≡ 2, 6, 6 (mod 16) lost columns; 138, 1918 ≡ 10, 14 did not; 4:4:4 never takes the path.
    const cases = [130, 134, 138, 1918, 1926].flatMap((w) => (['yuvj420p', 'yuvj422p', 'yuvj444p'] as const).map((pf) => [w, pf] as const));
    it.each(cases)('%i px wide %s JPEG: identical repeats, every column within the bound of the CLI', async (w, pf) => {
      const file = await ffmpegMake(path.join(dir, `${w}_${pf}.jpg`), ['-i', media('single_face.mp4'), '-frames:v', '1', '-vf', `scale=${w}:100`, '-pix_fmt', pf, '-q:v', '3']);
      const bytes = await readFile(file);
      const cliDecode = cliRgb(file);
      const a = decodeImage(bytes, file);
      const b = decodeImage(bytes, file);
      expect([a.width, a.height]).toEqual([w, 100]);
      expect(same(a.data, b.data), 'repeated FFmpeg decodes differ').toBe(true);
      const d = diff(a.data, await cliDecode, w);
      expect(d.max, describeDiff(d)).toBeLessThanOrEqual(CLI_BOUND);
    });
  });
});

describe('video frames (openSource) at widths that are not multiples of 16', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rgb-edge-video-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function frames(file: string, maxWidth: number, n: number): Promise<{ data: Uint8Array; width: number; height: number }[]> {
    const out: { data: Uint8Array; width: number; height: number }[] = [];
    const it = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth });
    try {
      for await (const f of it) {
        out.push({ data: f.data, width: f.width, height: f.height });
        if (out.length === n) break;
      }
    } finally {
      await it.return(undefined);
    }
    return out;
  }

  const N = 3;
  // H.264 (4:2:0 and 4:2:2) and MJPEG (a camera's yuvj422p); the analysis size is either the
  // source's own (maxWidth above it) or analysis.maxWidth's default 640.
  const cases = [
    [134, 100, 'yuv420p', 'libx264'],
    [134, 100, 'yuv422p', 'libx264'],
    [130, 96, 'yuv420p', 'libx264'],
    [1918, 1080, 'yuv420p', 'libx264'],
    [1926, 1080, 'yuv422p', 'libx264'],
    [134, 100, 'yuvj422p', 'mjpeg'],
    [1926, 1080, 'yuvj420p', 'mjpeg'],
  ] as const;
  it.each(cases)('%i×%i %s (%s): repeated reads identical, each frame within the bound of the CLI at its own size and at maxWidth 640', async (w, h, pf, codec) => {
    const file = await ffmpegMake(path.join(dir, `${w}x${h}_${pf}_${codec}.${codec === 'mjpeg' ? 'avi' : 'mp4'}`), [
      '-i', media('single_face.mp4'), '-frames:v', String(N), '-vf', `scale=${w}:${h}`, '-pix_fmt', pf, '-c:v', codec, ...(codec === 'mjpeg' ? ['-q:v', '3'] : ['-preset', 'ultrafast', '-crf', '18']),
    ]);
    for (const maxWidth of [4096, 640]) {
      // Two reads and the CLI at once: openSource decodes off the JS thread, the CLI in its own process.
      const [a, b, cli] = await Promise.all([frames(file, maxWidth, N), frames(file, maxWidth, N), cliRgb(file, { vf: analysisFilter(maxWidth), frames: N })]);
      expect(a.length).toBe(N);
      const { width, height } = a[0]!;
      expect(width).toBe(Math.min(w, maxWidth));
      expect(cli.length).toBe(N * width * height * 3);
      for (let i = 0; i < N; i++) {
        expect(same(a[i]!.data, b[i]!.data), `frame ${i} differs between reads`).toBe(true);
        const d = diff(a[i]!.data, cli.subarray(i * width * height * 3, (i + 1) * width * height * 3), width);
        if (i === 0) console.log(`${w}×${h} ${pf} ${codec} → ${width}×${height}: vs ffmpeg CLI ${describeDiff(d)}`);
        expect(d.max, `frame ${i} at ${width}×${height}: ${describeDiff(d)}`).toBeLessThanOrEqual(CLI_BOUND);
      }
    }
  });
});
