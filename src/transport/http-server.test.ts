import net from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { StreamConfig } from '../config/schema.js';
import { AnalyticsError, ConfigError, ErrorCodes } from '../core/errors.js';
import type { AnalyticsEvent } from '../core/records.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { StreamInfo } from '../supervisor/stream-supervisor.js';
import { HttpServer, type StreamApi } from './http-server.js';
import { accessPolicy } from './request-guard.js';
import { WsPublisher } from './ws-publisher.js';

const TOKEN = 'unit-test-token-0123456789';

/** The supervisor seam: an in-memory registry (the real one is covered by integration tests). */
class FakeStreams implements StreamApi {
  readonly streams = new Map<string, StreamInfo>();
  restartImpl: (id: string) => Promise<StreamInfo | undefined> = async (id) => this.streams.get(id);
  has(id: string): boolean {
    return this.streams.has(id);
  }
  list(): StreamInfo[] {
    return [...this.streams.values()];
  }
  get(id: string): StreamInfo | undefined {
    return this.streams.get(id);
  }
  vetApiUrl(url: string): void {
    if (url.startsWith('/etc')) throw new AnalyticsError(ErrorCodes.SOURCE_FORBIDDEN, 'outside the roots');
  }
  async add(cfg: StreamConfig): Promise<StreamInfo> {
    const info: StreamInfo = { id: cfg.id, url: cfg.url, kind: 'file', realtime: cfg.realtime, loop: cfg.loop, origin: 'api', state: 'starting', createdAt: '', framesDecoded: 0, framesAnalysed: 0, framesDropped: 0, activeTracks: 0, reconnects: 0 };
    this.streams.set(cfg.id, info);
    return info;
  }
  async remove(id: string): Promise<boolean> {
    return this.streams.delete(id);
  }
  restart(id: string): Promise<StreamInfo | undefined> {
    return this.restartImpl(id);
  }
}

interface Rig {
  readonly base: string;
  readonly port: number;
  readonly streams: FakeStreams;
  readonly publisher: WsPublisher;
  readonly logs: { level: number; msg: string; err?: { stack?: string } }[];
  readonly metrics: ReturnType<typeof createMetrics>;
  close(): Promise<void>;
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function start(opts: { token?: string; allowedHosts?: string[]; allowedOrigins?: string[]; timeouts?: { headersMs: number; requestMs: number; checkIntervalMs: number }; host?: string } = {}): Promise<Rig> {
  const logs: Rig['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(l) as Rig['logs'][number]);
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const metrics = createMetrics(new Registry());
  const publisher = new WsPublisher(new Subject<AnalyticsEvent>(), { metrics, logger }, { maxClients: 4, maxBufferedBytes: 1 << 20, maxBehindMs: 10_000 });
  const streams = new FakeStreams();
  const server = new HttpServer({
    supervisor: streams,
    publisher,
    metrics,
    logger,
    maxBodyBytes: 1024,
    auth: { token: opts.token ?? null, protectProbes: false, protectMetrics: false },
    access: accessPolicy({ host: '127.0.0.1', allowedHosts: opts.allowedHosts ?? [], allowedOrigins: opts.allowedOrigins ?? [] }),
    readiness: { ready: () => ({ ready: true, checks: { models: true, server: true, shuttingDown: false }, details: { backend: 'cpu', modelHosts: [], placements: {}, affectModel: 'none', streams: 0 } }) },
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
  });
  const address = await server.listen(0, opts.host ?? '127.0.0.1').catch(async (err: unknown) => {
    await publisher.close();
    throw err;
  });
  rig = {
    base: `http://127.0.0.1:${address.port}`,
    port: address.port,
    streams,
    publisher,
    logs,
    metrics,
    async close() {
      await publisher.close();
      await server.close();
    },
  };
  return rig;
}

function raw(port: number, text: string): Promise<{ status: number | undefined; text: string }> {
  return new Promise((resolve) => {
    let out = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.on('error', () => undefined);
    const done = (): void => {
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(out);
      resolve({ status: m ? Number(m[1]) : undefined, text: out });
    };
    s.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      // A 101 keeps the connection open: the head is all there is to see.
      if (out.startsWith('HTTP/1.1 101') && out.includes('\r\n\r\n')) done();
    });
    s.on('close', done);
    setTimeout(done, 2000);
  });
}

const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const json = { 'content-type': 'application/json' };

describe('HttpServer listen', () => {
  it('fails with a ConfigError for a host that does not resolve or is not this machine', async () => {
    for (const host of ['no-such-host.invalid', '192.0.2.1']) {
      const err = await start({ host }).catch((e: unknown) => e);
      expect(err, host).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message, host).toContain(`server.host: cannot listen on "${host}"`);
    }
  });
});

describe('HttpServer routes', () => {
  it('serves probes, metrics and the stream API, HEAD included', async () => {
    const r = await start();
    expect(await (await fetch(`${r.base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${r.base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${r.base}/metrics`)).text()).toContain('va_ws_clients');
    const head = await fetch(`${r.base}/v1/streams`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const created = await fetch(`${r.base}/v1/streams`, { method: 'POST', headers: json, body: JSON.stringify({ id: 'a', url: '/media/a.mp4' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/streams/a');
    expect((await fetch(`${r.base}/v1/streams/a`)).status).toBe(200);
    expect((await fetch(`${r.base}/v1/streams/a%2Eb`)).status).toBe(404);
    expect((await fetch(`${r.base}/v1/streams/a/restart`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${r.base}/v1/streams/a`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${r.base}/v1/streams/a`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${r.base}/nope`)).status).toBe(404);
  });

  it('answers 405 with Allow, 426 for a plain GET of the WebSocket, 415 for non-JSON bodies', async () => {
    const r = await start();
    const put = await fetch(`${r.base}/v1/streams`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(((await put.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_METHOD_NOT_ALLOWED');
    expect((await fetch(`${r.base}/v1/events`)).status).toBe(426);
    const plain = await fetch(`${r.base}/v1/streams`, { method: 'POST', body: JSON.stringify({ id: 'a', url: '/m.mp4' }) });
    expect(plain.status).toBe(415);
    expect(r.streams.has('a')).toBe(false);
    const forbidden = await fetch(`${r.base}/v1/streams`, { method: 'POST', headers: json, body: JSON.stringify({ id: 'a', url: '/etc/passwd' }) });
    expect(forbidden.status).toBe(403);
  });

  it('maps errors: client mistakes are 4xx and not logged as errors, a failing handler is a 500 with its stack logged', async () => {
    const r = await start();
    expect((await raw(r.port, 'GET /v1/streams/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status).toBe(400);
    expect((await raw(r.port, 'GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status).toBe(400);
    const junk = await raw(r.port, 'GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    expect(junk.status).toBe(400);
    expect(junk.text).toContain('VA_ERR_BAD_REQUEST');
    expect(r.logs.filter((l) => l.level >= 40)).toEqual([]);
    r.streams.streams.set('x', await r.streams.add({ id: 'x', url: '/m.mp4', realtime: true, loop: false }));
    r.streams.restartImpl = async () => {
      throw new Error('disk on fire');
    };
    const res = await fetch(`${r.base}/v1/streams/x/restart`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_INTERNAL');
    expect(r.logs.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['request failed']);
    expect((await fetch(`${r.base}/healthz`)).status).toBe(200);
  });
});

describe('HttpServer access checks', () => {
  it('checks Host first, then the token (header only on HTTP), then Origin on state changes', async () => {
    const r = await start({ token: TOKEN });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await raw(r.port, `GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`)).status).toBe(403);
    expect((await fetch(`${r.base}/v1/streams`)).status).toBe(401);
    expect((await fetch(`${r.base}/v1/streams?token=${TOKEN}`)).status).toBe(401);
    expect((await fetch(`${r.base}/v1/streams`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${r.base}/healthz`)).status).toBe(200);
    const cross = await fetch(`${r.base}/v1/streams`, { method: 'POST', headers: { ...bearer, ...json, origin: 'http://evil.example' }, body: '{}' });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_ORIGIN_FORBIDDEN');
    // A cross-origin GET is harmless (the browser will not let the page read it) and allowed.
    expect((await fetch(`${r.base}/v1/streams`, { headers: { ...bearer, origin: 'http://evil.example' } })).status).toBe(200);
  });

  it('applies configured hosts and origins', async () => {
    const r = await start({ allowedHosts: ['cam.example.com'], allowedOrigins: ['https://dash.example.com'] });
    expect((await raw(r.port, `GET /healthz HTTP/1.1\r\nHost: cam.example.com:8080\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    const body = '{"id": "a", "url": "/m.mp4"}';
    const post = (origin: string) =>
      raw(r.port, `POST /v1/streams HTTP/1.1\r\nHost: cam.example.com\r\nOrigin: ${origin}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect((await post('https://dash.example.com')).status).toBe(201);
    expect((await post('https://other.example.com')).status).toBe(403);
  });

  it('guards the WebSocket upgrade: target, Host, token (query allowed), Origin, filter', async () => {
    const r = await start({ token: TOKEN });
    const up = (target: string, extra = '', host = `127.0.0.1:${r.port}`) => raw(r.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}${UPGRADE}\r\n`);
    expect((await up('//[')).status).toBe(400);
    expect((await up(`/v1/events?token=${TOKEN}`, '', 'evil.example')).status).toBe(403);
    expect((await up('/v1/events')).status).toBe(401);
    expect((await up(`/v1/events?token=${TOKEN}`, 'Origin: http://evil.example\r\n')).status).toBe(403);
    expect((await up(`/v1/events?token=${TOKEN}&types=`)).status).toBe(400);
    expect((await up(`/other?token=${TOKEN}`)).status).toBe(404);
    const ok = await up(`/v1/events?token=${TOKEN}`, `Origin: http://127.0.0.1:${r.port}\r\n`);
    expect(ok.status).toBe(101);
  });

  it('drops the connection, logs, and keeps serving if the upgrade path throws', async () => {
    const r = await start();
    vi.spyOn(r.publisher, 'handleUpgrade').mockImplementation(() => {
      throw new Error('bug in the upgrade path');
    });
    const res = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${r.port}/v1/events`);
      ws.on('error', (e) => resolve(e.message));
      ws.on('open', () => resolve('open'));
    });
    expect(res).toMatch(/socket hang up|ECONNRESET/);
    expect(r.logs.some((l) => l.level === 50 && /upgrade failed/.test(l.msg))).toBe(true);
    expect((await fetch(`${r.base}/healthz`)).status).toBe(200);
  });
});

describe('HttpServer refused stream commands', () => {
  it('counts each refusal once by reason in va_control_commands_refused_total{source="http"}, and nothing else', async () => {
    const r = await start({ token: TOKEN });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const post = (body: string, headers: Record<string, string> = { ...bearer, ...json }) => fetch(`${r.base}/v1/streams`, { method: 'POST', headers, body }).then((res) => res.status);
    expect(await fetch(`${r.base}/v1/streams`).then((res) => res.status)).toBe(401);
    expect(await post('{}', { ...json })).toBe(401);
    expect((await raw(r.port, `GET /v1/streams HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).status).toBe(403);
    expect(await post('{}', { ...bearer, ...json, origin: 'http://evil.example' })).toBe(403);
    expect(await post('x'.repeat(2000))).toBe(413);
    expect(await post('{"id": "a", "url": "/m.mp4"}', { ...bearer, 'content-type': 'text/plain' })).toBe(415);
    expect(await post('{not json')).toBe(400);
    expect(await post('[1]')).toBe(400);
    expect(await post(JSON.stringify({ id: 'a', url: '/m.mp4', bogus: 1 }))).toBe(400);
    expect(await fetch(`${r.base}/v1/streams/a`, { method: 'PUT', headers: bearer }).then((res) => res.status)).toBe(405);
    expect(await post(JSON.stringify({ id: 'a', url: '/etc/passwd' }))).toBe(403);
    // Not refusals: the command ran and answered about the stream, or the request was no command.
    expect(await post(JSON.stringify({ id: 'a', url: '/m.mp4' }))).toBe(201);
    expect(await post(JSON.stringify({ id: 'a', url: '/m.mp4' }))).toBe(409);
    expect(await fetch(`${r.base}/v1/streams/nope`, { method: 'DELETE', headers: bearer }).then((res) => res.status)).toBe(404);
    expect(await fetch(`${r.base}/v1/nothing`, { headers: bearer }).then((res) => res.status)).toBe(404);
    r.streams.add = async () => {
      throw new AnalyticsError(ErrorCodes.LIMIT, 'at most 1 streams');
    };
    expect(await post(JSON.stringify({ id: 'b', url: '/m.mp4' }))).toBe(429);
    const counted = (await r.metrics.controlCommandsRefused.get()).values.map((v) => [v.labels.source, v.labels.reason, v.value]);
    expect(counted).toEqual([
      ['http', 'unauthorised', 2],
      ['http', 'forbidden', 2],
      ['http', 'too-large', 1],
      ['http', 'malformed', 3],
      ['http', 'invalid', 2],
      ['http', 'source-forbidden', 1],
      ['http', 'limit', 1],
    ]);
  });
});

describe('HttpServer slow clients', () => {
  it('answers 408 and closes a connection whose headers or body trickle in (slowloris), keeping WebSockets open', async () => {
    const r = await start({ timeouts: { headersMs: 400, requestMs: 800, checkIntervalMs: 100 } });
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/v1/events`);
    await new Promise((res) => ws.once('open', res));
    // Cut by the server while still trickling (one byte per 50 ms: the head below takes 12 s, the
    // body 25 s); a server without the bounds would wait for all of it and answer 200 or 400.
    const trickle = (head: string): Promise<{ status: number | undefined; unsent: number }> =>
      new Promise((resolve) => {
        let out = '';
        const s = net.connect(r.port, '127.0.0.1');
        let i = 0;
        const timer = setInterval(() => s.writable && i < head.length && s.write(head[i++]!), 50);
        s.on('data', (b: Buffer) => (out += b.toString('latin1')));
        s.on('error', () => undefined);
        s.on('close', () => {
          clearInterval(timer);
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1]) || undefined, unsent: head.length - i });
        });
      });
    const headers = await trickle(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`);
    expect(headers.status).toBe(408);
    expect(headers.unsent).toBeGreaterThan(0);
    const body = await trickle(`POST /v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n${' '.repeat(400)}`);
    expect(body.unsent).toBeGreaterThan(0);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});
