import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnalyticsError, ErrorCodes, asAnalyticsError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';
import { STATUS_FOR_CODE, sendError, sendJson } from './http-errors.js';
import { requestToken, tokenMatches } from './auth.js';
import { readJsonBody } from './read-json-body.js';
import { createStreamPayload, firstProblem } from './stream-payload.js';
import { parseEventFilter, type WsPublisher } from './ws-publisher.js';

export interface Readiness {
  ready(): { ready: boolean; checks: Record<string, boolean>; details: Record<string, unknown> };
}

export interface HttpServerDeps {
  readonly supervisor: StreamSupervisor;
  readonly publisher: WsPublisher;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly maxBodyBytes: number;
  readonly auth: { readonly token: string | null; readonly protectProbes: boolean; readonly protectMetrics: boolean };
}

const STREAM_PATH = /^\/v1\/streams\/([^/]+)$/;
const RESTART_PATH = /^\/v1\/streams\/([^/]+)\/restart$/;
const UNAUTHORIZED_BODY = JSON.stringify({ error: { code: ErrorCodes.UNAUTHORIZED, message: 'missing or wrong bearer token' } });

/** One port: health, readiness, metrics, the stream API and the event WebSocket. */
export class HttpServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(private readonly deps: HttpServerDeps) {
    this.log = deps.logger.child({ component: 'http' });
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/v1/events') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (!this.authorised(req, url, url.pathname)) {
        socket.end(
          `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nWWW-Authenticate: Bearer\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(UNAUTHORIZED_BODY)}\r\n\r\n${UNAUTHORIZED_BODY}`,
        );
        return;
      }
      const filter = parseEventFilter(url);
      if (typeof filter === 'string') {
        const body = JSON.stringify({ error: { code: ErrorCodes.BAD_REQUEST, message: filter, field: 'types' } });
        socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        return;
      }
      deps.publisher.handleUpgrade(req, socket, head, filter);
    });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = asAnalyticsError(err);
    const status = STATUS_FOR_CODE[e.code] ?? 500;
    if (status >= 500) this.log.error({ err: e, code: e.code }, 'request failed');
    if (!res.headersSent) sendError(res, status, e.code, e.message);
    else res.destroy();
  }

  /** Probes and metrics are open unless configured otherwise; everything else needs the token. */
  private authorised(req: IncomingMessage, url: URL, path: string): boolean {
    const { token, protectProbes, protectMetrics } = this.deps.auth;
    if (token === null) return true;
    if ((path === '/healthz' || path === '/readyz') && !protectProbes) return true;
    if (path === '/metrics' && !protectMetrics) return true;
    return tokenMatches(token, requestToken(req, url));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const { supervisor, metrics } = this.deps;
    if (!this.authorised(req, url, path)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json; charset=utf-8' });
      res.end(UNAUTHORIZED_BODY);
      return;
    }

    if (path === '/healthz' && method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz' && method === 'GET') {
      const r = this.deps.readiness.ready();
      return sendJson(res, r.ready ? 200 : 503, r);
    }
    if (path === '/metrics' && method === 'GET') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === '/v1/streams') {
      if (method === 'GET') return sendJson(res, 200, { streams: supervisor.list() });
      if (method === 'POST') return this.createStream(req, res);
      return sendError(res, 405, ErrorCodes.BAD_REQUEST, `${method} is not allowed on ${path}`);
    }
    const r = RESTART_PATH.exec(path);
    if (r) {
      if (method !== 'POST') return sendError(res, 405, ErrorCodes.BAD_REQUEST, `${method} is not allowed on ${path}`);
      const id = decodeURIComponent(r[1]!);
      const info = await supervisor.restart(id);
      return info ? sendJson(res, 200, info) : sendError(res, 404, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
    }
    const m = STREAM_PATH.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (method === 'GET') {
        const info = supervisor.get(id);
        return info ? sendJson(res, 200, info) : sendError(res, 404, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
      }
      if (method === 'DELETE') {
        return (await supervisor.remove(id))
          ? void res.writeHead(204).end()
          : sendError(res, 404, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
      }
      return sendError(res, 405, ErrorCodes.BAD_REQUEST, `${method} is not allowed on ${path}`);
    }
    sendError(res, 404, ErrorCodes.NOT_FOUND, `no route for ${method} ${path}`);
  }

  private async createStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.deps.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return sendError(res, 400, ErrorCodes.BAD_REQUEST, 'request body must be a JSON object', '(body)');
    }
    const parsed = createStreamPayload.safeParse(body);
    if (!parsed.success) {
      const p = firstProblem(parsed.error);
      return sendError(res, 400, ErrorCodes.BAD_REQUEST, p.message, p.field);
    }
    const cfg = parsed.data;
    if (this.deps.supervisor.has(cfg.id)) return sendError(res, 409, ErrorCodes.CONFLICT, `stream ${cfg.id} already exists`, 'id');
    try {
      this.deps.supervisor.vetApiUrl(cfg.url);
    } catch (err) {
      const e = asAnalyticsError(err);
      return sendError(res, STATUS_FOR_CODE[e.code] ?? 400, e.code, e.message, 'url');
    }
    try {
      const info = await this.deps.supervisor.add(cfg, 'api');
      sendJson(res, 201, info, { location: `/v1/streams/${encodeURIComponent(cfg.id)}` });
    } catch (err) {
      if (err instanceof AnalyticsError && err.code === ErrorCodes.CONFLICT) return sendError(res, 409, err.code, err.message, 'id');
      if (err instanceof AnalyticsError && err.code === ErrorCodes.LIMIT) return sendError(res, 429, err.code, err.message);
      throw err;
    }
  }
}
