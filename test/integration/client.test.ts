// The typed client (affect-daemon/client) against a real daemon on a real socket: typed events
// that conform to the schemas, reconnecting across a daemon restart on the same port, refusals as
// DaemonError, the streams API, and backpressure (a consumer that stops reading holds a bounded
// number of events while the daemon keeps publishing). The built package exports it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { afterAll, afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { DaemonError, connect, type ConnectionState, type Subscription } from '../../src/client/index.js';
import type { AffectEvent, FacesEvent, StreamEvent, TrackEvent } from '../../src/core/records.js';
import { checkEvent } from '../helpers/event-contract.js';
import { startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';

const TOKEN = 'client-test-token-0123456789';
const open: RunningDaemon[] = [];
const subs: Subscription<unknown>[] = [];
afterEach(() => {
  for (const s of subs.splice(0)) s.close();
});
afterAll(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function daemonOn(port: number, realtime = true): Promise<RunningDaemon> {
  const d = await startDaemon({ server: { port, host: '127.0.0.1' }, auth: { token: TOKEN }, files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime, loop: true }] });
  open.push(d);
  return d;
}

/** Takes events from `sub` until `pred` matches one (fails after `ms`). */
async function until<E>(sub: AsyncIterator<E>, pred: (e: E) => boolean, ms = 30_000): Promise<E> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no matching event within ${ms} ms`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([sub.next(), new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), left)))]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`no matching event within ${ms} ms`);
    if (r.done) throw new Error('the subscription ended');
    if (pred(r.value)) return r.value;
  }
}

describe('affect-daemon/client', () => {
  it('subscribes to typed events that conform to the schemas, and reconnects across a daemon restart on the same port', async () => {
    const port = await freePort();
    let d = await daemonOn(port);
    const states: ConnectionState['state'][] = [];
    const client = connect({ url: `http://127.0.0.1:${port}`, token: TOKEN });
    const sub = client.subscribe({ streams: ['cam'], types: ['faces', 'stream'], reconnect: { initialDelayMs: 100, maxDelayMs: 500 }, onState: (s) => states.push(s.state) });
    subs.push(sub);
    expectTypeOf(sub).toMatchTypeOf<AsyncIterable<FacesEvent | StreamEvent>>();
    const first = await until(sub, (e) => e.type === 'faces' && e.faces.length > 0);
    if (first.type !== 'faces') throw new Error('narrowing');
    expectTypeOf(first.faces[0]!.box).toEqualTypeOf<readonly [number, number, number, number]>();
    expect(first.streamId).toBe('cam');
    checkEvent(first, 'websocket');

    await d.close();
    open.splice(open.indexOf(d), 1);
    await waitUntil(() => states.includes('closed'), 10_000, 'the client to see the close');
    d = await daemonOn(port);
    const again = await until(sub, (e) => e.type === 'faces', 30_000);
    checkEvent(again, 'websocket');
    expect(sub.stats.reconnects).toBe(1);
    expect(states.filter((s) => s === 'open')).toHaveLength(2);
  });

  it('the streams API: list, add, restart, snapshot, remove; refusals are DaemonError with the code', async () => {
    const d = await daemonOn(await freePort());
    const client = connect({ url: d.base, token: TOKEN });
    expect((await client.list()).map((s) => s.id)).toEqual(['cam']);
    const added = await client.add({ id: 'b', url: media('no_face.mp4'), loop: true });
    expect(added).toMatchObject({ id: 'b', origin: 'api' });
    expect((await client.restart('b')).id).toBe('b');
    await waitUntil(async () => (await client.snapshot('cam')) !== undefined, 20_000, 'a snapshot');
    const snap = await client.snapshot('cam', { annotated: true });
    expect([...snap!.jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(snap!.frame).toBeTypeOf('number');
    await client.remove('b');
    expect(await client.get('b')).toBeUndefined();
    const gone = await client.remove('b').catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DaemonError);
    expect(gone).toMatchObject({ status: 404, code: 'VA_ERR_NOT_FOUND' });
    const bad = await client.add({ id: 'c', url: 'gopher://x/y' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, code: 'VA_ERR_SOURCE_SCHEME' });

    const outsider = connect({ url: d.base, token: 'wrong-token-0123456789abcdef' });
    expect(await outsider.list().catch((e: unknown) => e)).toMatchObject({ status: 401, code: 'VA_ERR_UNAUTHORIZED' });
    // A refused subscription ends with the refusal instead of retrying for ever.
    const refused = outsider.subscribe({ types: ['faces'], reconnect: { initialDelayMs: 50 } });
    subs.push(refused);
    expect(await refused.next().catch((e: unknown) => e)).toMatchObject({ status: 401, code: 'VA_ERR_UNAUTHORIZED' });
    expect(await refused.next()).toEqual({ value: undefined, done: true });
  });

  it('backpressure: a consumer that stops reading holds at most twice maxQueued events, and reads on when it resumes', async () => {
    const d = await daemonOn(await freePort(), false);
    const client = connect({ url: d.base, token: TOKEN });
    const sub = client.subscribe({ types: ['faces', 'affect', 'track'], maxQueued: 32 });
    subs.push(sub);
    await until(sub, (e) => e.type === 'faces');
    // Stop reading while the daemon decodes the looping file as fast as it can.
    await waitUntil(() => sub.stats.paused, 30_000, 'the socket to be paused');
    const atPause = sub.stats.received;
    await new Promise((r) => setTimeout(r, 3000));
    const published = Number(/va_ws_messages_sent_total\{type="faces"\} (\d+)/.exec(await (await fetch(`${d.base}/metrics`)).text())?.[1] ?? NaN);
    expect(sub.stats.queued).toBeLessThanOrEqual(64);
    // Paused, the socket is not read: what arrives is at most the rest of the chunk being parsed.
    expect(sub.stats.received - atPause).toBeLessThan(400);
    expect(published).toBeGreaterThan(atPause);
    // Reading again resumes the socket and events flow.
    const before = sub.stats.received;
    // More than the 64 a paused socket can hold arrived, so the socket was read again. (Whether it
    // is paused right now is a race: reading as fast as the daemon sends refills the queue.)
    const resumed = await until(sub, () => sub.stats.received > before + 64, 30_000);
    expect(resumed).toBeDefined();

    // drop-oldest (what a browser does): the queue stays at maxQueued, the rest is counted.
    const dropping = client.subscribe({ types: ['faces', 'affect', 'track'], maxQueued: 8, overflow: 'drop-oldest' });
    subs.push(dropping);
    await until(dropping, () => true);
    await waitUntil(() => dropping.stats.dropped > 0, 30_000, 'drops');
    expect(dropping.stats.queued).toBeLessThanOrEqual(8);
    expectTypeOf(dropping).toEqualTypeOf<Subscription<FacesEvent | AffectEvent | TrackEvent>>();
  });

  it('a socket that cannot be made (a token no header can carry) ends the subscription with the error', async () => {
    const sub = connect({ url: 'http://127.0.0.1:9', token: 'two\nlines' }).subscribe({ types: ['faces'] });
    subs.push(sub);
    await expect(sub.next()).rejects.toThrow(/Invalid character in header/);
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });

  it('the built package exports it as affect-daemon/client (package.json exports, dist/client with types)', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('affect-daemon/client'); console.log(typeof m.connect, typeof m.DaemonError)"], { cwd: repoRoot, encoding: 'utf8' });
    expect(out.trim()).toBe('function function');
    const dts = execFileSync(process.execPath, ['-e', "console.log(require('fs').readFileSync(require('path').join(process.cwd(), require('./package.json').exports['./client'].types), 'utf8'))"], { cwd: repoRoot, encoding: 'utf8' });
    expect(dts).toMatch(/export declare function connect\(/);
  });

  it("docs/api.md's example compiles against the built types, imported as affect-daemon/client", () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'api.md'), 'utf8');
    const example = /```ts\n(import \{ connect[^\n]*'affect-daemon\/client';\n[\s\S]*?)```/.exec(doc)?.[1];
    expect(example, 'the ts example of docs/api.md').toBeDefined();
    expect(example!.trim().split('\n').length).toBeLessThanOrEqual(10);
    // Inside the package, so that its own name resolves (package.json exports).
    const dir = mkdtempSync(path.join(repoRoot, '.client-example-'));
    try {
      writeFileSync(path.join(dir, 'example.mts'), `${example!}\nvoid DaemonError;\nexport {};\n`);
      const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const flags = ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--exactOptionalPropertyTypes', '--types', 'node', '--skipLibCheck'];
      const r = spawnSync(process.execPath, [tsc, ...flags, path.join(dir, 'example.mts')], { cwd: repoRoot, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
