import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsError, type DecodeError } from '../../src/core/errors.js';
import { openSource, quietFfmpeg, type RawFrame, type VideoSourceOptions } from '../../src/streams/open-source.js';
import { corruptCopy, disguise, ffmpegFrameCount, peakRssDuring, writeHlsEscape, writeLyingAvi, writePngBomb } from '../helpers/hostile-media.js';
import { media } from '../helpers/media.js';

// Real files, real FFmpeg (node-av), real sockets; every case is an attack seen to work on main.

let dir: string;
beforeAll(() => {
  quietFfmpeg();
  dir = mkdtempSync(path.join(tmpdir(), 'va-src-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: VideoSourceOptions = { realtime: false, loop: false, maxWidth: 320 };

async function drain(file: string, opts: Partial<VideoSourceOptions> = {}, limit = 10_000): Promise<{ frames: RawFrame[]; error?: AnalyticsError }> {
  const frames: RawFrame[] = [];
  try {
    for await (const f of openSource({ kind: 'file', path: file }, { ...base, ...opts })) {
      frames.push(f);
      if (frames.length >= limit) break;
    }
    return { frames };
  } catch (err) {
    if (!(err instanceof AnalyticsError)) throw err;
    return { frames, error: err };
  }
}

describe('file roots bound what FFmpeg opens (playlists and other nested formats)', () => {
  it('refuses an HLS playlist inside a root whose segments lie outside it, however it is named', async () => {
    const root = path.join(dir, 'hls', 'root');
    const { playlist } = writeHlsEscape(root, path.join(dir, 'hls', 'outside'), media('utterance_1.mp4'));
    const r = await drain(playlist, { fileRoots: [root] });
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
    expect(r.error?.message).toMatch(/hls.*files\.allowNestedFormats/);
    expect(r.error?.context).toMatchObject({ reason: 'nested-format', format: 'hls' });
    // Under a video name the same bytes are opened with the demuxer the probe chose, never HLS.
    const disguised = await drain(disguise(playlist, path.join(root, 'holiday.mp4')), { fileRoots: [root] });
    expect(disguised.frames).toHaveLength(0);
    expect(disguised.error?.code).toMatch(/^VA_ERR_SOURCE_(FORBIDDEN|OPEN)$/);
    // Without roots (operator-configured files) nested formats are still refused by default.
    expect((await drain(playlist)).error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
  });

  it('plays the same playlist when the operator allows nested formats (so the refusal above is what stops it)', async () => {
    const root = path.join(dir, 'hls2', 'root');
    const { playlist } = writeHlsEscape(root, path.join(dir, 'hls2', 'outside'), media('utterance_1.mp4'));
    const r = await drain(playlist, { allowNestedFormats: true }, 5);
    expect(r.error).toBeUndefined();
    expect(r.frames).toHaveLength(5);
  });

  it('refuses a concat list that names a file outside the root', async () => {
    const root = path.join(dir, 'concat');
    mkdirSync(root, { recursive: true });
    const list = path.join(root, 'list.txt');
    writeFileSync(list, `ffconcat version 1.0\nfile '${media('utterance_1.mp4')}'\n`);
    const r = await drain(list, { fileRoots: [root] });
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
  });
});

describe('file roots are checked at every open', () => {
  it('refuses a symlink in a root whose target appears outside the root later', async () => {
    const root = path.join(dir, 'sym', 'root');
    const outside = path.join(dir, 'sym', 'outside');
    mkdirSync(root, { recursive: true });
    mkdirSync(outside, { recursive: true });
    const link = path.join(root, 'cam.mp4');
    const target = path.join(outside, 'later.mp4');
    symlinkSync(target, link);
    expect((await drain(link, { fileRoots: [root] })).error?.code).toBe('VA_ERR_SOURCE_NOT_FOUND');
    copyFileSync(media('utterance_1.mp4'), target);
    const r = await drain(link, { fileRoots: [root] });
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
    // The same file is fine for a source whose roots include it.
    expect((await drain(link, { fileRoots: [root, outside] }, 3)).frames).toHaveLength(3);
  });

  it('checks again when a looping file is reopened: a swap to a symlink out of the root stops the loop', async () => {
    const root = path.join(dir, 'loop', 'root');
    mkdirSync(root, { recursive: true });
    const clip = path.join(root, 'clip.mp4');
    copyFileSync(media('utterance_1.mp4'), clip);
    let n = 0;
    let error: AnalyticsError | undefined;
    try {
      for await (const _ of openSource({ kind: 'file', path: clip }, { ...base, loop: true, fileRoots: [root] })) {
        if (++n === 1) {
          // Atomically replace the clip with a link to a file outside every root.
          const tmpLink = path.join(root, '.swap');
          symlinkSync(media('utterance_1.mp4'), tmpLink);
          renameSync(tmpLink, clip);
        }
        if (n > 2000) break;
      }
    } catch (err) {
      error = err as AnalyticsError;
    }
    expect(error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
    expect(n).toBe(309); // the open pass finished, the reopen was refused
  });
});

describe('media limits', () => {
  it('refuses a 16000×16000 PNG bomb with VA_ERR_SOURCE_TOO_LARGE and without allocating it', async () => {
    const bomb = path.join(dir, 'bomb.png');
    writePngBomb(bomb, 16000, 16000);
    const before = process.memoryUsage().rss;
    const r = await drain(bomb, { maxWidth: 1 << 16 });
    const grown = process.memoryUsage().rss - before;
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_SOURCE_TOO_LARGE');
    expect(r.error?.message).toContain('16000×16000');
    expect(grown).toBeLessThan(100 << 20); // decoded, it is 256 MB
  });

  it('bounds what the decoder may allocate when the size is only known by decoding', async () => {
    // A PNG declares its size only inside the stream: the probe's and the decoder's max_pixels refuse it.
    const png = path.join(dir, 'big.png');
    writePngBomb(png, 2000, 1500);
    const r = await drain(png, { maxWidth: 1 << 16, maxSourcePixels: 1_000_000 });
    expect(r.error?.code).toBe('VA_ERR_SOURCE_TOO_LARGE');
    expect((await drain(png, { maxWidth: 1 << 16, maxSourcePixels: 4_000_000 })).frames.map((f) => [f.width, f.height])).toEqual([[2000, 1500]]);
  });

  it("bounds what a decoder may allocate when the container lies about the size (FFmpeg's max_pixels)", async () => {
    const avi = writeLyingAvi(dir, 8000);
    const before = process.memoryUsage().rss;
    const r = await drain(avi, { maxWidth: 1 << 16 });
    const grown = process.memoryUsage().rss - before;
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_DECODE');
    expect(r.error?.message).toMatch(/maxSourcePixels/);
    expect(grown).toBeLessThan(48 << 20); // the frame alone is 64 MB decoded, 192 MB as RGB
    // With a limit that admits it, the same file decodes: the refusal above was the limit.
    expect((await drain(avi, { maxWidth: 320, maxSourcePixels: 8000 * 8000 })).frames).toHaveLength(1);
  });

  it('probes a lying multi-stream file without decoding its frame (no unbounded probe decoder)', async () => {
    const avi = writeLyingAvi(dir, 8000, { withAudio: true });
    let r: Awaited<ReturnType<typeof drain>> | undefined;
    const peak = await peakRssDuring(async () => {
      r = await drain(avi, { maxWidth: 1 << 16 });
    });
    expect(r?.frames).toHaveLength(0);
    expect(r?.error?.code).toBe('VA_ERR_DECODE');
    expect(peak).toBeLessThan(48 << 20); // one decoded frame is 64 MB (grey), 192 MB as RGB
    expect((await drain(avi, { maxWidth: 320, maxSourcePixels: 8000 * 8000 })).frames).toHaveLength(1);
  });

  it('refuses a video whose declared size is over the limit before decoding', async () => {
    const r = await drain(media('utterance_1.mp4'), { maxSourcePixels: 640 * 360 - 1 });
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe('VA_ERR_SOURCE_TOO_LARGE');
  });
});

describe('corrupt packets', () => {
  it('skips and reports undecodable packets instead of failing the file, like the ffmpeg command line', async () => {
    const bad = path.join(dir, 'corrupt.mp4');
    corruptCopy(media('utterance_1.mp4'), bad, { bytes: 2048, at: 0.5 });
    const errors: DecodeError[] = [];
    const r = await drain(bad, { onDecodeError: (e) => errors.push(e) });
    const cli = ffmpegFrameCount(bad);
    expect(r.error).toBeUndefined();
    expect(cli).toBeGreaterThan(250);
    expect(r.frames.length).toBeGreaterThanOrEqual(cli - 3);
    for (const e of errors) expect(e.code).toBe('VA_ERR_DECODE');
  });

  it('fails after maxConsecutiveDecodeErrors undecodable packets in a row', async () => {
    const bad = path.join(dir, 'shredded.mp4');
    // Shred everything after the first few packets: every later packet is garbage.
    corruptCopy(media('utterance_1.mp4'), bad, { bytes: 700_000, at: 0.12, seed: 7 });
    const errors: DecodeError[] = [];
    const r = await drain(bad, { onDecodeError: (e) => errors.push(e), maxConsecutiveDecodeErrors: 3 });
    expect(r.error?.code).toBe('VA_ERR_DECODE');
    expect(r.error?.message).toMatch(/consecutive packets could not be decoded/);
    expect(errors.length).toBeGreaterThanOrEqual(4);
  });
});

describe('network URLs are mapped truthfully', () => {
  const rtsp = (url: string, o: Partial<VideoSourceOptions> = {}) => openSource({ kind: 'rtsp', url }, { ...base, rtspTimeoutMs: 1000, ...o });
  async function firstError(gen: AsyncGenerator<RawFrame>): Promise<AnalyticsError> {
    try {
      for await (const _ of gen) throw new Error('no frame expected');
    } catch (err) {
      if (err instanceof AnalyticsError) return err;
      throw err;
    }
    throw new Error('the source ended without an error');
  }

  it('a camera that accepts and stays silent is a timeout', async () => {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const t0 = performance.now();
      const err = await firstError(rtsp(`rtsp://admin:s3cret@127.0.0.1:${port}/cam`));
      expect(err.code).toBe('VA_ERR_SOURCE_TIMEOUT');
      expect(err.message).not.toContain('s3cret');
      // ≈ 1 s here (rtspTimeoutMs); without the socket timeout the open waits for ever.
      expect(performance.now() - t0).toBeLessThan(20_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('a closed port is "connection refused", an unknown host is "host not found"', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const refused = await firstError(rtsp(`rtsp://127.0.0.1:${port}/x`));
    expect(refused.code).toBe('VA_ERR_SOURCE_OPEN');
    expect(refused.message).toMatch(/connection refused/);
    expect(refused.context).toMatchObject({ reason: 'connection-refused' });
    const unknown = await firstError(rtsp('rtsp://user:pw@no-such-camera.invalid/x'));
    expect(unknown.message).toMatch(/host not found: no-such-camera\.invalid/);
    expect(unknown.message).not.toContain('pw@');
    expect(unknown.context).toMatchObject({ reason: 'host-not-found' });
  });
});
