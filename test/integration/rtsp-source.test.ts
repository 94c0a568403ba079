import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SourceError } from '../../src/core/errors.js';
import { quietFfmpeg } from '../../src/streams/ffmpeg-log.js';
import { reconnecting, type ReconnectHooks, type ReconnectPolicy, type ReconnectingInfo } from '../../src/streams/reconnect.js';
import { StallError } from '../../src/streams/stall-watchdog.js';
import { readVideo, type RawFrame } from '../../src/streams/video-source.js';
import { media } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';

// Real GStreamer RTSP server on 127.0.0.1, real node-av. CI installs the Debian packages
// (see tools/rtsp_server.py); there is deliberately no skip when they are missing.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => quietFfmpeg());

async function server(opts: Parameters<typeof startRtspServer>[0]): Promise<RtspServer> {
  const s = await startRtspServer(opts);
  cleanups.push(() => s.stop());
  return s;
}

/** A closed port on loopback: bind port 0, note it, close it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * readVideo over RTSP, counting opens and finally-runs to prove native cleanup on every path.
 * `closedAtOpen[i]`: connections already closed when connection i opened. reconnecting() waits
 * for the previous connection's cleanup at most `cleanupTimeoutMs`, so with that bound below the
 * RTSP socket timeout, a connection whose blocked call was not interrupted is still open when the
 * next one starts: closedAtOpen [0, 0] instead of [0, 1], whatever the machine's load.
 */
function rtspOpener(url: string, rtspTimeoutMs: number) {
  const stats = { opens: 0, closed: 0, closedAt: [] as number[], closedAtOpen: [] as number[] };
  const open = async function* (signal: AbortSignal): AsyncGenerator<RawFrame> {
    stats.closedAtOpen.push(stats.closed);
    stats.opens++;
    try {
      yield* readVideo({ kind: 'rtsp', url }, { realtime: false, loop: false, maxWidth: 320, signal, rtspTimeoutMs });
    } finally {
      stats.closed++;
      stats.closedAt.push(performance.now());
    }
  };
  return { open, stats };
}

function recorder() {
  const reconnects: (ReconnectingInfo & { at: number })[] = [];
  const recoveries: number[] = [];
  const hooks: ReconnectHooks = {
    onReconnecting: (i) => reconnects.push({ ...i, at: performance.now() }),
    onRecovered: (i) => recoveries.push(i.attempts),
  };
  return { reconnects, recoveries, hooks };
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const basePolicy: ReconnectPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 1000,
  multiplier: 2,
  maxAttempts: 0,
  stallTimeoutMs: 4000,
  cleanupTimeoutMs: 6000,
};

describe('RTSP source with reconnects (GStreamer RTSP server on 127.0.0.1)', () => {
  it('reconnects after the camera dies and comes back on the same port, pts stay monotonic', async () => {
    const cam = await server({ file: media('utterance_1.mp4'), path: '/cam' });
    const { open, stats } = rtspOpener(cam.url, 3000);
    const rec = recorder();
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const frames: RawFrame[] = [];
    let restarting: Promise<void> | undefined;
    let restartError: unknown;
    let framesAtKill = 0;
    for await (const f of reconnecting(open, basePolicy, rec.hooks, { signal: abort.signal })) {
      frames.push(f);
      if (frames.length === 25) {
        framesAtKill = frames.length;
        cam.kill(); // like a power cut: no TEARDOWN, the TCP connection just drops
        restarting = new Promise((r) => setTimeout(r, 1500))
          .then(() => cam.restart())
          .catch((err: unknown) => {
            restartError = err;
            abort.abort(); // end the loop instead of waiting for the test timeout
          });
      }
      if (frames.length >= framesAtKill + 25 && rec.recoveries.length > 0) break;
    }
    await restarting;
    if (restartError) throw restartError;
    expect(frames[0]!.width).toBe(320);
    expect(rec.reconnects.length).toBeGreaterThanOrEqual(2); // the drop, then refused connects while it is down
    expect(rec.reconnects[0]!.attempt).toBe(1);
    expect(rec.recoveries).toHaveLength(1);
    expect(rec.recoveries[0]).toBe(rec.reconnects.at(-1)!.attempt);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.pts).toBeGreaterThan(frames[i - 1]!.pts);
    // The outage (≥ 1.5 s) shows as one gap in stream time (frames the decoder still held when
    // the connection dropped come first, so the gap is not exactly at framesAtKill).
    const gaps = frames.slice(1).map((f, i) => f.pts - frames[i]!.pts);
    expect(gaps.filter((g) => g > 1.4)).toHaveLength(1);
    expect(stats.closed).toBe(stats.opens);
  });

  it('a URL that never answers ends with the last error after maxAttempts', async () => {
    const port = await closedPort();
    // Long socket timeout and watchdog: a refusal that waited for either would take ≥ 3 × 20 s.
    const { open, stats } = rtspOpener(`rtsp://127.0.0.1:${port}/none`, 20_000);
    const rec = recorder();
    const t0 = performance.now();
    let error: unknown;
    try {
      for await (const _ of reconnecting(open, { ...basePolicy, initialDelayMs: 100, maxAttempts: 3, stallTimeoutMs: 20_000 }, rec.hooks)) {
        throw new Error('no frame expected');
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SourceError);
    const e = error as SourceError;
    expect(e.code).toBe(ErrorCodes.SOURCE_OPEN);
    expect(e.message).toMatch(/^source unavailable after 3 attempts: connection refused by 127\.0\.0\.1:\d+/);
    expect(e.context).toMatchObject({ reason: 'exhausted', attempts: 3 });
    expect(rec.reconnects.map((r) => r.attempt)).toEqual([1, 2]);
    // Every attempt ended on the refusal itself, none on a timeout or the watchdog.
    expect(rec.reconnects.map((r) => r.error.message)).toEqual([expect.stringMatching(/^connection refused by/), expect.stringMatching(/^connection refused by/)]);
    expect(stats).toMatchObject({ opens: 3, closed: 3 });
    // ≈ 0.3 s here (backoff bounds 100 + 200 ms); waiting for any timeout takes ≥ 60 s.
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a server that accepts but never answers trips the watchdog, which interrupts the blocked open', async () => {
    const mute = await server({ silent: true, path: '/mute' });
    const { open, stats } = rtspOpener(mute.url, 20_000); // long: only the watchdog can notice
    const rec = recorder();
    const t0 = performance.now();
    let error: unknown;
    try {
      for await (const _ of reconnecting(open, { ...basePolicy, stallTimeoutMs: 1000, maxAttempts: 2, cleanupTimeoutMs: 15_000 }, rec.hooks)) {
        throw new Error('no frame expected');
      }
    } catch (err) {
      error = err;
    }
    const elapsed = performance.now() - t0;
    expect(rec.reconnects).toHaveLength(1);
    expect(rec.reconnects[0]!.error).toBeInstanceOf(StallError);
    expect(rec.reconnects[0]!.at - t0).toBeGreaterThanOrEqual(900);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toMatch(/after 2 attempts: no frame received for 1000 ms/);
    expect((error as SourceError).cause).toBeInstanceOf(StallError);
    // The abort interrupts avformat_open_input itself (RtspInput installs node-av's interrupt
    // callback): the first connection was released before the second opened, not held until its
    // 20 s socket timeout (reconnecting() gives up waiting after 15 s and opens the next anyway).
    expect(stats).toMatchObject({ opens: 2, closed: 2, closedAtOpen: [0, 1] });
    // ≈ 2.2 s here (two 1 s stalls); uninterrupted opens take ≥ 2 × 16 s.
    expect(elapsed).toBeLessThan(15_000);
  });

  it('a camera that goes quiet mid-stream trips the watchdog, the blocked read is released, frames resume', async () => {
    const cam = await server({ file: media('utterance_1.mp4'), path: '/hung', stallAfterSec: 1.5 });
    const { open, stats } = rtspOpener(cam.url, 20_000); // long: only the watchdog can notice
    const rec = recorder();
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const frames: RawFrame[] = [];
    for await (const f of reconnecting(open, { ...basePolicy, stallTimeoutMs: 1500 }, rec.hooks, { signal: abort.signal })) {
      frames.push(f);
      if (rec.recoveries.length > 0) break;
    }
    expect(rec.reconnects).toHaveLength(1);
    const stall = rec.reconnects[0]!;
    expect(stall.error).toBeInstanceOf(StallError);
    expect(rec.recoveries).toEqual([1]);
    // The abort interrupts the blocked av_read_frame (RTCP keeps arriving, so the 20 s socket
    // timeout would never fire): the connection was released before the next one opened, rather
    // than abandoned when reconnecting() stopped waiting for it (cleanupTimeoutMs, 6 s).
    expect(stats.closedAtOpen).toEqual([0, 1]);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.pts).toBeGreaterThan(frames[i - 1]!.pts);
    abort.abort();
    await eventually(() => stats.closed === stats.opens, 6000);
  });

  it('stops at once when the stream is removed while a read is blocked', async () => {
    const mute = await server({ silent: true, path: '/mute' });
    const { open, stats } = rtspOpener(mute.url, 20_000);
    const abort = new AbortController();
    // Long watchdog and cleanup bound: a stop that waited for either would take ≥ 15 s.
    const gen = reconnecting(open, { ...basePolicy, stallTimeoutMs: 30_000, cleanupTimeoutMs: 15_000 }, {}, { signal: abort.signal });
    const next = gen.next();
    await eventually(() => stats.opens === 1, 2000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    abort.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    // The interrupted open returns within FFmpeg's 100 ms poll, and the stop waits for the
    // connection's finally, so native resources are free when the generator is done (an open
    // that was not interrupted is still blocked then: closed 0).
    expect(stats.closed).toBe(1);
    // ≈ 100 ms here; a stop left to the watchdog, the cleanup bound or the socket timeout takes ≥ 15 s.
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
