import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asStreamId } from '../core/ids.js';
import type { AnalyticsEvent, FacesEvent } from '../core/records.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { parseEventFilter, WsPublisher, type WsPublisherOptions } from './ws-publisher.js';

interface Rig {
  readonly events: Subject<AnalyticsEvent>;
  readonly publisher: WsPublisher;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly port: number;
  readonly server: Server;
  readonly logs: string[];
}

let rig: Rig | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (rig) {
    await rig.publisher.close();
    await new Promise<void>((r) => rig!.server.close(() => r()));
  }
  rig = undefined;
});

/** A real HTTP server on port 0 whose upgrades go straight to the publisher (filter from the query). */
async function start(opts: Partial<WsPublisherOptions> = {}): Promise<Rig> {
  const events = new Subject<AnalyticsEvent>();
  const metrics = createMetrics(new Registry());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const publisher = new WsPublisher(events, { metrics, logger: createLogger('debug', sink) }, { maxClients: 8, maxBufferedBytes: 1 << 20, maxBehindMs: 10_000, ...opts });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    const filter = parseEventFilter(new URL(`http://localhost${req.url ?? '/'}`));
    if (typeof filter === 'string') return socket.destroy();
    publisher.handleUpgrade(req, socket, head, filter);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  rig = { events, publisher, metrics, server, logs, port: (server.address() as AddressInfo).port };
  return rig;
}

const stream = (id: string): AnalyticsEvent => ({ type: 'stream', streamId: asStreamId(id), state: 'running', ts: new Date(0).toISOString() });

/** A faces event of about 1.4 KB (ten faces), like a crowded camera's. */
function faces(id: string, frame: number): FacesEvent {
  const face = { trackId: 1, box: [301.2, 55.0, 67.4, 78.1] as const, score: 0.998, landmarks: Array.from({ length: 5 }, () => [320.123, 79.321] as const), quality: { score: 0.998, interocularPx: 30.1, sharpness: 210.4, gated: [] } };
  return { type: 'faces', streamId: asStreamId(id), frame, pts: frame / 30, ts: new Date(0).toISOString(), width: 640, height: 360, faces: Array.from({ length: 10 }, () => face) };
}

async function client(port: number, query = ''): Promise<{ ws: WebSocket; got: AnalyticsEvent[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/events${query}`);
  const got: AnalyticsEvent[] = [];
  ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString('utf8')) as AnalyticsEvent));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, got };
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Server → client frames (unmasked) in `buf`: opcodes and payloads of the complete ones. */
function frames(buf: Buffer): { opcode: number; payload: Buffer }[] {
  const out: { opcode: number; payload: Buffer }[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    let len = buf[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      if (at + 2 > buf.length) break;
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (at + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > buf.length) break;
    out.push({ opcode: buf[i]! & 0x0f, payload: buf.subarray(at, at + len) });
    i = at + len;
  }
  return out;
}

describe('WsPublisher', () => {
  it('fans events out to every client, each with its own filter', async () => {
    const r = await start();
    const all = await client(r.port);
    const onlyA = await client(r.port, '?streams=a');
    const onlyFaces = await client(r.port, '?types=faces');
    expect(r.publisher.clientCount).toBe(3);
    r.events.next(stream('a'));
    r.events.next(stream('b'));
    r.events.next(faces('b', 1));
    await until(() => all.got.length === 3, 2000, 'all events');
    await until(() => onlyA.got.length === 1 && onlyFaces.got.length === 1, 2000, 'filtered events');
    expect(onlyA.got[0]).toMatchObject({ type: 'stream', streamId: 'a' });
    expect(onlyFaces.got[0]).toMatchObject({ type: 'faces', streamId: 'b' });
    const sent = (await r.metrics.registry.getSingleMetric('va_ws_messages_sent_total')!.get()).values;
    expect(sent.reduce((s, v) => s + v.value, 0)).toBe(5);
    for (const c of [all, onlyA, onlyFaces]) c.ws.close();
    await until(() => r.publisher.clientCount === 0, 2000, 'clients to go');
  });

  it('refuses clients beyond maxClients with 503', async () => {
    const r = await start({ maxClients: 1 });
    const first = await client(r.port);
    await expect(client(r.port)).rejects.toThrow(/503/);
    first.ws.close();
  });

  it('closes every client with 1001 on close()', async () => {
    const r = await start();
    const c = await client(r.port);
    const code = new Promise<number>((resolve) => c.ws.once('close', (n) => resolve(n)));
    await r.publisher.close();
    expect(await code).toBe(1001);
    await r.publisher.close(); // idempotent (afterEach closes again)
  });

  it('drops a client that really stops reading, then closes it with 1008, while a reading client gets everything', async () => {
    const r = await start({ maxBufferedBytes: 16 * 1024, maxBehindMs: 300 });
    const fast = await client(r.port);
    // A raw client: completes the handshake, then never reads again, so the kernel buffers on
    // both sides fill up and the backlog grows in the daemon's process.
    const slow = net.connect(r.port, '127.0.0.1');
    sockets.push(slow);
    let handshake = '';
    await new Promise<void>((resolve, reject) => {
      slow.on('error', reject);
      slow.once('connect', () =>
        slow.write(
          'GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      const onData = (b: Buffer): void => {
        handshake += b.toString('latin1');
        if (handshake.includes('\r\n\r\n')) {
          slow.off('data', onData);
          slow.pause();
          resolve();
        }
      };
      slow.on('data', onData);
    });
    expect(handshake).toMatch(/^HTTP\/1\.1 101/);
    const dropped = async (): Promise<number> => (await r.metrics.registry.getSingleMetric('va_ws_messages_dropped_total')!.get()).values[0]?.value ?? 0;

    // About 3 MB/s of events until the publisher gives up on the slow client.
    let published = 0;
    const deadline = Date.now() + 20_000;
    const closed = (): boolean => r.logs.some((l) => l.includes('stayed behind (1008)'));
    while (!closed() && Date.now() < deadline) {
      for (let i = 0; i < 40; i++) r.events.next(faces('cam', published++));
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(closed()).toBe(true);
    expect(await dropped()).toBeGreaterThan(0);

    // The reading client lost nothing.
    await until(() => fast.got.length === published, 10_000, `the fast client to get all ${published} events`);
    expect(fast.got.map((e) => (e as FacesEvent).frame)).toEqual(Array.from({ length: published }, (_, i) => i));

    // Now read what the slow client was sent: some events, then a close frame with 1008.
    const chunks: Buffer[] = [];
    slow.on('data', (b: Buffer) => chunks.push(b));
    slow.resume();
    const closeFrame = async (): Promise<{ opcode: number; payload: Buffer } | undefined> => frames(Buffer.concat(chunks)).find((f) => f.opcode === 0x8);
    await until(() => frames(Buffer.concat(chunks)).some((f) => f.opcode === 0x8), 10_000, 'the close frame');
    const close = (await closeFrame())!;
    expect(close.payload.readUInt16BE(0)).toBe(1008);
    expect(close.payload.subarray(2).toString('utf8')).toBe('client too slow');
    const received = frames(Buffer.concat(chunks)).filter((f) => f.opcode === 0x1).length;
    expect(received).toBeLessThan(published);
    // Every event went to the slow client or was counted as dropped, except those published
    // after it was closed (at most the rest of the last batch).
    const lost = published - received - (await dropped());
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThan(40);
    slow.destroy();
    await until(() => r.publisher.clientCount === 1, 5000, 'the slow client to be gone');
    fast.ws.close();
  });
});

describe('parseEventFilter', () => {
  const parse = (q: string) => parseEventFilter(new URL(`http://localhost/v1/events${q}`));
  it('parses lists and refuses unknown or empty ones', () => {
    expect(parse('')).toEqual({});
    expect(parse('?streams=a,b&types=faces')).toEqual({ streams: new Set(['a', 'b']), types: new Set(['faces']) });
    expect(parse('?types=faces,nope')).toMatch(/unknown event type\(s\) nope/);
    expect(parse('?types=')).toMatch(/types= is empty/);
    expect(parse('?types=,,')).toMatch(/types= is empty/);
    expect(parse('?streams=')).toMatch(/streams= is empty/);
  });
});

describe('WsPublisher keep-alive', () => {
  it('pings every client, closes one that never answers, frees its slot, and keeps one that does', async () => {
    const r = await start({ maxClients: 2, pingIntervalMs: 200 });
    const url = `ws://127.0.0.1:${r.port}/v1/events`;
    // A client whose peer is gone in all but name: it never answers a ping.
    const deaf = new WebSocket(url, { autoPong: false });
    let deafPings = 0;
    deaf.on('ping', () => deafPings++);
    const deafClosed = new Promise<void>((resolve) => deaf.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      deaf.once('open', () => resolve());
      deaf.once('error', reject);
    });
    const live = await client(r.port);
    let livePings = 0;
    live.ws.on('ping', () => livePings++);
    expect(r.publisher.clientCount).toBe(2);
    await deafClosed;
    expect(deafPings).toBeGreaterThanOrEqual(1);
    await until(() => r.publisher.clientCount === 1, 10_000, 'the deaf client to leave its slot');
    // The responsive client keeps its connection through many more pings and still gets events.
    const seen = livePings;
    await until(() => livePings >= seen + 5, 20_000, 'five more pings to the live client');
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    r.events.next(stream('cam'));
    await until(() => live.got.length === 1, 10_000, 'an event on the live client');
    // The freed slot takes a new client (maxClients is 2).
    const next = await client(r.port);
    expect(r.publisher.clientCount).toBe(2);
    expect(r.logs.join('')).toContain('did not answer the previous ping');
    next.ws.close();
    live.ws.close();
  });
});
