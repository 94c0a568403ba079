import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { corruptCopy, ffmpegFrameCount, writeHlsEscape, writePngBomb } from '../helpers/hostile-media.js';
import { media } from '../helpers/media.js';

// Hostile media and cameras against a real daemon on loopback. After every case: the daemon still
// answers, a healthy stream still advances, and nothing leaked (fds, tensors, RSS within a bound).
// (These checks are local to this file; test/adversarial/harness.ts from the transport branch may
// replace them when the branches meet.)

let d: RunningDaemon;
let tmp: string;
let root: string;
let outside: string;
const sockets = new Set<net.Socket>();
let silent: net.Server;
let silentPort: number;
let closedPort: number;
let baseline: { fds: number; tensors: number; rss: number };

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(d.base + url, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const info = async (id: string) => (await api('GET', `/v1/streams/${id}`)).json as { state: string; url: string; framesDecoded: number; error?: { code: string; message: string } };
const fds = (): number => readdirSync('/proc/self/fd').length;
const metrics = async () => parseMetrics(await (await fetch(d.base + '/metrics')).text());

async function waitState(id: string, states: string[], ms = 20_000): Promise<Awaited<ReturnType<typeof info>>> {
  await waitUntil(async () => states.includes((await info(id)).state), ms, `${id} to reach ${states.join('/')}`);
  return info(id);
}

/** The daemon answers, the healthy stream advances, and fds and tensors are back where they were. */
async function expectUnharmed(): Promise<void> {
  expect((await api('GET', '/healthz')).status).toBe(200);
  const before = (await info('cam')).framesDecoded;
  await waitUntil(async () => (await info('cam')).framesDecoded > before + 5, 10_000, 'cam to keep decoding');
  await waitUntil(async () => fds() <= baseline.fds + 4, 5_000, `fds back near ${baseline.fds} (now ${fds()})`);
  expect((await metrics()).get('va_tensors_alive')).toBeLessThanOrEqual(baseline.tensors + 2);
  expect(process.memoryUsage().rss - baseline.rss).toBeLessThan(200 << 20);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'va-adv-media-'));
  root = path.join(tmp, 'root');
  outside = path.join(tmp, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  silent = net.createServer((s) => sockets.add(s)); // accepts, never says a word
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as net.AddressInfo).port;
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  copyFileSync(media('utterance_1.mp4'), path.join(root, 'cam.mp4'));
  d = await startDaemon({
    files: { roots: [root] },
    rtsp: { timeoutMs: 1000, reconnect: { initialDelayMs: 200, maxDelayMs: 1000, multiplier: 2, maxAttempts: 0 } },
    streams: [{ id: 'cam', url: path.join(root, 'cam.mp4'), realtime: true, loop: true }],
  });
  await waitState('cam', ['running']);
  await new Promise((r) => setTimeout(r, 1000));
  baseline = { fds: fds(), tensors: (await metrics()).get('va_tensors_alive') ?? 0, rss: process.memoryUsage().rss };
}, 120_000);

afterEach(async () => {
  for (const s of (await api('GET', '/v1/streams')).json.streams as { id: string }[]) if (s.id !== 'cam') await api('DELETE', `/v1/streams/${s.id}`);
});

afterAll(async () => {
  await d?.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('hostile media against the daemon', () => {
  it('a 16000×16000 PNG bomb fails with VA_ERR_SOURCE_TOO_LARGE and costs no memory', async () => {
    const bomb = path.join(root, 'bomb.png');
    writePngBomb(bomb, 16000, 16000);
    const rss = process.memoryUsage().rss;
    // Three at once: main peaked at 2.5 GB here.
    for (const id of ['bomb1', 'bomb2', 'bomb3']) expect((await api('POST', '/v1/streams', { id, url: bomb, realtime: false })).status).toBe(201);
    for (const id of ['bomb1', 'bomb2', 'bomb3']) expect((await waitState(id, ['failed', 'ended'])).error?.code).toBe('VA_ERR_SOURCE_TOO_LARGE');
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 << 20);
    await expectUnharmed();
  });

  it('a file with 2 KB of garbage in the middle plays to the end; skipped packets are counted', async () => {
    const bad = path.join(root, 'corrupt.mp4');
    corruptCopy(media('utterance_1.mp4'), bad, { bytes: 2048, at: 0.5 });
    // A low analysis rate keeps face detection (not under test) short; every frame is still decoded.
    expect((await api('POST', '/v1/streams', { id: 'corrupt', url: bad, realtime: false, analysisFps: 3 })).status).toBe(201);
    const s = await waitState('corrupt', ['ended', 'failed'], 40_000);
    expect(s.state).toBe('ended');
    const m = await metrics();
    const decoded = (m.get('va_frames_decoded_total{stream="corrupt"}') ?? 0) + (m.get('va_frames_skipped_total{stream="corrupt"}') ?? 0);
    expect(decoded).toBeGreaterThanOrEqual(ffmpegFrameCount(bad) - 3);
    expect(m.has('va_decode_errors_total{stream="corrupt"}')).toBe(true);
    await expectUnharmed();
  });

  it('a truncated file and a directory fail with a code, nothing else', async () => {
    const truncated = path.join(root, 'truncated.mp4');
    writeFileSync(truncated, readFileSync(media('utterance_1.mp4')).subarray(0, 200_000));
    mkdirSync(path.join(root, 'dir.mp4'));
    expect((await api('POST', '/v1/streams', { id: 'trunc', url: truncated, realtime: false })).status).toBe(201);
    expect((await api('POST', '/v1/streams', { id: 'dir', url: path.join(root, 'dir.mp4'), realtime: false })).status).toBe(201);
    expect((await waitState('trunc', ['failed'])).error?.code).toMatch(/^VA_ERR_(SOURCE_OPEN|DECODE)$/);
    expect((await waitState('dir', ['failed'])).error?.code).toBe('VA_ERR_SOURCE_OPEN');
    await expectUnharmed();
  });

  it('an HLS playlist inside a root cannot play a file outside it', async () => {
    const { playlist } = writeHlsEscape(root, outside, media('utterance_1.mp4'));
    expect((await api('POST', '/v1/streams', { id: 'hls', url: playlist, realtime: false })).status).toBe(201);
    const s = await waitState('hls', ['failed', 'ended', 'running']);
    expect(s.state).toBe('failed');
    expect(s.error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
    expect(s.framesDecoded).toBe(0);
    await expectUnharmed();
  });

  it('a symlink out of the root is refused at POST while dangling, and at restart once re-pointed', async () => {
    const link = path.join(root, 'later.mp4');
    symlinkSync(path.join(outside, 'later.mp4'), link);
    // Dangling: judged by where it points (outside), not let through because nothing is there yet.
    expect((await api('POST', '/v1/streams', { id: 'swap', url: link, realtime: false, loop: true })).status).toBe(403);
    unlinkSync(link);
    copyFileSync(media('utterance_1.mp4'), path.join(root, 'inside.mp4'));
    symlinkSync(path.join(root, 'inside.mp4'), link);
    expect((await api('POST', '/v1/streams', { id: 'swap', url: link, realtime: false, loop: true })).status).toBe(201);
    await waitState('swap', ['running']);
    // Re-pointed outside while the stream runs: the next open (restart) is refused.
    copyFileSync(media('utterance_1.mp4'), path.join(outside, 'later.mp4'));
    unlinkSync(link);
    symlinkSync(path.join(outside, 'later.mp4'), link);
    expect((await api('POST', '/v1/streams/swap/restart')).status).toBe(200);
    const s = await waitState('swap', ['failed', 'running']);
    expect(s.state).toBe('failed');
    expect(s.error?.code).toBe('VA_ERR_SOURCE_FORBIDDEN');
    expect(s.framesDecoded).toBe(0);
    await expectUnharmed();
  });
});

describe('hostile URLs and cameras against the daemon', () => {
  it('refuses URLs that can never work with 400, and takes schemes in any case', async () => {
    for (const url of ['rtsp://', 'rtsp://[::1', 'rtsp://%%%garbage%%%/x', 'rtsp://user:pw@/x', 'rtsp://cam:99999/x']) {
      const r = await api('POST', '/v1/streams', { id: 'never', url });
      expect(r.status, url).toBe(400);
      expect((r.json.error as { code: string }).code, url).toBe('VA_ERR_SOURCE_URL');
    }
    expect((await api('POST', '/v1/streams', { id: 'upper', url: `RTSP://127.0.0.1:${closedPort}/x` })).status).toBe(201);
    await waitUntil(async () => (await info('upper')).error !== undefined, 10_000, 'upper to report an error');
    const s = await info('upper');
    expect(s.error?.message).toMatch(/connection refused/);
    expect(s.error?.message).not.toMatch(/Protocol not found/);
    await expectUnharmed();
  });

  it('never shows credentials: a raw @ in the password, or credentials in the query', async () => {
    const url = `rtsp://admin:p@ss@127.0.0.1:${closedPort}/cam?user=alice&password=hunter2&token=tok123&auth=k3y`;
    const created = await api('POST', '/v1/streams', { id: 'creds', url });
    expect(created.status).toBe(201);
    await waitUntil(async () => (await info('creds')).error !== undefined, 10_000, 'creds to report an error');
    const shown = JSON.stringify([created.json, await info('creds'), (await api('GET', '/v1/streams')).json, await (await fetch(d.base + '/metrics')).text(), d.logs]);
    for (const secret of ['p@ss', 'ss@127', 'alice', 'hunter2', 'tok123', 'k3y']) expect(shown, secret).not.toContain(secret);
    expect((await info('creds')).url).toBe(`rtsp://***@127.0.0.1:${closedPort}/cam?user=***&password=***&token=***&auth=***`);
    await expectUnharmed();
  });

  it('a camera that accepts and stays silent is reported as a timeout, and the daemon keeps trying', async () => {
    expect((await api('POST', '/v1/streams', { id: 'mute', url: `rtsp://127.0.0.1:${silentPort}/cam` })).status).toBe(201);
    await waitUntil(async () => (await info('mute')).error !== undefined, 15_000, 'mute to report an error');
    const s = await info('mute');
    expect(s.state).toBe('reconnecting');
    expect(s.error?.code).toBe('VA_ERR_SOURCE_TIMEOUT');
    await expectUnharmed();
  });
});
