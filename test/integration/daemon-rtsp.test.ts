import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EventClient, parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media } from '../helpers/media.js';
import { startRtspServer } from '../helpers/rtsp-server.js';

type Server = Awaited<ReturnType<typeof startRtspServer>>;

let d: RunningDaemon | undefined;
let server: Server | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});
afterAll(async () => {
  await server?.stop();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('RTSP cameras through the daemon', () => {
  it('reconnects when the camera goes away and comes back, and never shows its credentials', async () => {
    server = await startRtspServer({ file: media('utterance_1.mp4') });
    const secretUrl = server.url.replace('rtsp://', 'rtsp://admin:s3cr3t-pw@');
    d = await startDaemon({
      rtsp: { stallTimeoutMs: 3000, reconnect: { initialDelayMs: 200, maxDelayMs: 1000, maxAttempts: 0 } },
      streams: [{ id: 'cam', url: secretUrl }],
    });
    const client = await EventClient.connect(d.ws);
    await client.waitFor((m) => m.type === 'faces' && m.streamId === 'cam' && (m.faces as unknown[]).length === 1, 30_000);
    const info = (await (await fetch(`${d.base}/v1/streams/cam`)).json()) as { url: string; state: string; kind: string };
    expect(info.url).toMatch(/^rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\//);
    expect(info.state).toBe('running');
    expect(info.kind).toBe('rtsp');

    server.kill();
    await client.waitFor((m) => m.type === 'stream' && m.streamId === 'cam' && m.state === 'reconnecting', 30_000);
    const before = client.messages.length;
    await server.restart();
    await client.waitFor((m) => m.type === 'stream' && m.streamId === 'cam' && m.state === 'running' && client.messages.indexOf(m) >= before, 30_000);
    await client.waitFor((m) => m.type === 'faces' && (m.faces as unknown[]).length === 1 && client.messages.indexOf(m) > before, 30_000);
    const after = (await (await fetch(`${d.base}/v1/streams/cam`)).json()) as { state: string; reconnects: number };
    expect(after.state).toBe('running');
    expect(after.reconnects).toBeGreaterThanOrEqual(1);
    const metricsText = await (await fetch(`${d.base}/metrics`)).text();
    expect(parseMetrics(metricsText).get('va_stream_reconnects_total{stream="cam"}')).toBeGreaterThanOrEqual(1);

    // Credentials appear nowhere: API, metrics, events, logs.
    const everything = [
      JSON.stringify(await (await fetch(`${d.base}/v1/streams`)).json()),
      metricsText,
      JSON.stringify(client.messages),
      d.logs.join('\n'),
    ].join('\n');
    expect(everything).not.toContain('s3cr3t-pw');
    expect(everything).not.toContain('admin:');
    client.close();
  }, 120_000);

  it('fails a camera that never answers after the configured attempts, with the last error', async () => {
    const port = await freePort();
    d = await startDaemon({
      rtsp: { timeoutMs: 1000, reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 } },
      streams: [{ id: 'gone', url: `rtsp://user:pw@127.0.0.1:${port}/nothing` }],
    });
    await waitUntil(async () => ((await (await fetch(`${d!.base}/v1/streams/gone`)).json()) as { state: string }).state === 'failed', 30_000, 'failed');
    const info = (await (await fetch(`${d.base}/v1/streams/gone`)).json()) as { error: { code: string; message: string }; reconnects: number };
    expect(info.error.code).toMatch(/^VA_ERR_SOURCE_/);
    expect(info.error.message).toMatch(/after 3 attempts/);
    expect(info.error.message).not.toContain('user:pw');
    expect((await fetch(`${d.base}/readyz`)).status).toBe(200);
  }, 60_000);

  it('refuses a camera that accepts the connection but never answers, after the configured attempts', async () => {
    const silent = await startRtspServer({ silent: true });
    try {
      d = await startDaemon({
        rtsp: { timeoutMs: 1500, stallTimeoutMs: 1500, reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 2 } },
        streams: [{ id: 'mute', url: silent.url }],
      });
      await waitUntil(async () => ((await (await fetch(`${d!.base}/v1/streams/mute`)).json()) as { state: string }).state === 'failed', 40_000, 'failed');
      const info = (await (await fetch(`${d.base}/v1/streams/mute`)).json()) as { error: { code: string; message: string }; reconnects: number };
      expect(info.reconnects).toBeGreaterThanOrEqual(1);
      expect(info.error.message).toMatch(/after 2 attempts/);
    } finally {
      await silent.stop();
    }
  }, 60_000);

  it('trips the stall watchdog when a running camera stops sending, and recovers', async () => {
    const stalling = await startRtspServer({ file: media('utterance_1.mp4'), stallAfterSec: 2 });
    try {
      d = await startDaemon({
        rtsp: { stallTimeoutMs: 1500, reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 0 } },
        streams: [{ id: 'hang', url: stalling.url }],
      });
      const client = await EventClient.connect(`${d.ws}?types=stream,faces`);
      await client.waitFor((m) => m.type === 'faces' && m.streamId === 'hang', 30_000);
      const stalled = await client.waitFor((m) => m.type === 'stream' && m.state === 'reconnecting', 30_000);
      expect(stalled.streamId).toBe('hang');
      const info = (await (await fetch(`${d.base}/v1/streams/hang`)).json()) as { error?: { message: string } };
      // Each new session serves 2 s again, so the camera comes back: running after reconnecting.
      await client.waitFor((m) => m.type === 'stream' && m.state === 'running' && client.messages.indexOf(m) > client.messages.indexOf(stalled), 30_000);
      expect(info.error?.message ?? 'stalled').toMatch(/stalled|no frame/);
      client.close();
    } finally {
      await stalling.stop();
    }
  }, 90_000);
});
