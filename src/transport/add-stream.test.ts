import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamConfig } from '../config/schema.js';
import { AnalyticsError, ErrorCodes, PersistenceError } from '../core/errors.js';
import type { AnalyticsEvent } from '../core/records.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { parseSourceUrl } from '../streams/source-url.js';
import type { StreamInfo } from '../supervisor/stream-supervisor.js';
import { HttpServer, type StreamApi } from './http-server.js';
import { accessPolicy } from './request-guard.js';
import { runStreamCommand } from './stream-commands.js';
import { WsPublisher } from './ws-publisher.js';

/**
 * The supervisor seam: the real URL parser, a file root of /srv/media, and an add() that can be
 * told to fail as the real one does (a cluster id, the stream limit, an unwritable state file).
 */
class FakeStreams implements StreamApi {
  readonly streams = new Map<string, StreamInfo>();
  addFails: Error | undefined;
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
    const spec = parseSourceUrl(url);
    if (spec.kind === 'file' && !spec.path.startsWith('/srv/media/')) throw new AnalyticsError(ErrorCodes.SOURCE_FORBIDDEN, 'file sources must lie under the configured file roots (/srv/media)');
  }
  async add(cfg: StreamConfig): Promise<StreamInfo> {
    if (this.addFails) throw this.addFails;
    const info: StreamInfo = { id: cfg.id, url: cfg.url, kind: 'unknown', realtime: cfg.realtime, loop: cfg.loop, origin: 'api', state: 'starting', createdAt: 'now', framesDecoded: 0, framesAnalysed: 0, framesDropped: 0, activeTracks: 0, reconnects: 0 };
    this.streams.set(cfg.id, info);
    return info;
  }
  async remove(id: string): Promise<boolean> {
    return this.streams.delete(id);
  }
  async restart(id: string): Promise<StreamInfo | undefined> {
    return this.streams.get(id);
  }
}

const streams = new FakeStreams();
const metrics = createMetrics(new Registry());
const logger = createLogger('silent');
const publisher = new WsPublisher(new Subject<AnalyticsEvent>(), { metrics, logger }, { maxClients: 1, maxBufferedBytes: 1 << 16, maxBehindMs: 1000 });
const server = new HttpServer({
  supervisor: streams,
  publisher,
  metrics,
  logger,
  maxBodyBytes: 4096,
  auth: { token: null, protectProbes: false, protectMetrics: false },
  access: accessPolicy({ host: '127.0.0.1', allowedHosts: [], allowedOrigins: [] }),
  readiness: { ready: () => ({ ready: true, checks: { models: true, server: true, shuttingDown: false }, details: { backend: 'cpu', modelHosts: [], placements: {}, affectModel: 'none', streams: 0 } }) },
});
let base = '';
beforeAll(async () => {
  const a = await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
});
afterAll(async () => {
  await publisher.close();
  await server.close();
});

interface Answer {
  readonly status: number;
  readonly body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
}

async function overHttp(payload: unknown): Promise<Answer> {
  const res = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function overBroker(payload: unknown): Promise<Answer> {
  const reply = await runStreamCommand(streams, new TextEncoder().encode(JSON.stringify({ op: 'add', stream: payload })), 4096);
  const { status, ...body } = reply;
  return { status, body };
}

/** A field of the HTTP body is the same field under `stream` in a broker command. */
const inCommand = (field: string): string => (field === '(body)' ? 'stream' : `stream.${field}`);

const demo = (id: string): { id: string; url: string } => ({ id, url: 'demo:faces' });

/** Each bad payload, what (if anything) add() does with it, and the status both transports answer. */
const CASES: readonly { readonly name: string; readonly payload: unknown; readonly addFails?: Error; readonly status: number }[] = [
  { name: 'an array', payload: [demo('a')], status: 400 },
  { name: 'a string', payload: 'cam', status: 400 },
  { name: 'null', payload: null, status: 400 },
  { name: 'a missing url', payload: { id: 'x' }, status: 400 },
  { name: 'an unknown field', payload: { ...demo('x'), extra: 1 }, status: 400 },
  { name: 'an invalid id', payload: demo('-no spaces-'), status: 400 },
  { name: 'a field of the wrong type', payload: { ...demo('x'), loop: 'yes' }, status: 400 },
  { name: 'an unknown URL scheme', payload: { id: 'x', url: 'gopher://h/x' }, status: 400 },
  { name: 'an RTSP URL without a host', payload: { id: 'x', url: 'rtsp://' }, status: 400 },
  // Was 400 over HTTP and 500 over a broker (the broker had no table entry for VA_ERR_SOURCE_OPEN).
  { name: 'a file URL that names no local file', payload: { id: 'x', url: 'file://elsewhere.example/x.mp4' }, status: 400 },
  { name: 'a file outside the roots', payload: { id: 'x', url: '/etc/passwd' }, status: 403 },
  { name: 'an id already running', payload: demo('running'), status: 409 },
  { name: 'an id the cluster holds', payload: demo('leased'), addFails: new AnalyticsError(ErrorCodes.CONFLICT, 'stream id leased belongs to the cluster: its lease decides where it runs'), status: 409 },
  { name: 'a stream beyond server.maxStreams', payload: demo('one-more'), addFails: new AnalyticsError(ErrorCodes.LIMIT, 'the daemon already runs its maximum of 1 streams (server.maxStreams)'), status: 429 },
  { name: 'a state file that cannot be written', payload: demo('unsaved'), addFails: new PersistenceError(ErrorCodes.PERSISTENCE, 'cannot write the state file'), status: 500 },
];

describe('adding a stream: HTTP POST /v1/streams and the broker add command', () => {
  beforeAll(async () => {
    await streams.add({ ...demo('running'), realtime: true, loop: false } as StreamConfig);
  });

  for (const c of CASES) {
    it(`answer ${c.name} with the same status (${c.status}), code, message and field`, async () => {
      streams.addFails = c.addFails;
      try {
        const http = await overHttp(c.payload);
        const broker = await overBroker(c.payload);
        expect(http.status).toBe(c.status);
        expect(broker.status).toBe(c.status);
        expect(broker.body.ok).toBe(false);
        const e = http.body.error!;
        expect(e.code).toMatch(/^VA_ERR_/);
        expect(broker.body.error).toEqual({ ...e, ...(e.field !== undefined ? { field: inCommand(e.field) } : {}) });
        // A refusal about the payload says which field (the limit and a server failure are about no field).
        if (c.status < 500 && c.status !== 429) expect(e.field).toBeDefined();
      } finally {
        streams.addFails = undefined;
      }
    });
  }

  it('adds a good stream through either, with the same StreamInfo and a 201', async () => {
    const http = await overHttp(demo('good-http'));
    const broker = await overBroker(demo('good-broker'));
    expect(http.status).toBe(201);
    expect(broker.status).toBe(201);
    expect(broker.body.stream).toEqual({ ...http.body, id: 'good-broker' });
  });
});
