import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError, ErrorCodes, asAnalyticsError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { addStream } from './add-stream.js';
import { PROTOCOL_STATUS, endRaw, errorAnswer, isRefusal, sendError, sendJson, type ProtocolStatus } from './http-errors.js';
import { requestToken, tokenMatches } from './auth.js';
import { REFUSAL_REASONS, refusalReason } from './control-refusals.js';
import { readJsonBody } from './read-json-body.js';
import { isJsonContentType, isStateChanging, type AccessPolicy } from './request-guard.js';
import { decodeSegment, parseRequestTarget } from './request-target.js';
import type { StreamApi } from './stream-api.js';
import { parseEventFilter, type WsPublisher } from './ws-publisher.js';
import { HTTP_ROUTES, OPENAPI_PATH, routeMethods } from './http-routes.js';
import { openApiDocument } from './openapi-document.js';
import { ASYNCAPI_PATH, EVENT_SCHEMA_PATH, asyncApiDocument } from './asyncapi-document.js';
import { EVENT_SCHEMAS, eventJsonSchema, type EventSchemaType } from '../core/event-schemas.js';
import type { ReadinessAnswer } from './readiness-schema.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import { serveSnapshot, SNAPSHOT_PATH } from './snapshot-route.js';
import { BASELINE_PATH, CALIBRATION_SECONDS_LIMIT, calibrateBaseline } from './baseline-route.js';
import type { BaselineControls } from '../pipeline/affect/baseline-affect.js';
import type { SnapshotRegistry } from './snapshots.js';
import { isStaticPath, serveStatic } from './static-route.js';
import { INGEST_PATH, type IngestServer } from './ingest-socket.js';
import { isRecordingPath, recordingBodyPath, serveRecordings, type RecordingRouteDeps } from './recording-routes.js';

export interface Readiness {
  ready(): ReadinessAnswer;
}

export type { StreamApi } from './stream-api.js';

export interface HttpServerDeps {
  readonly supervisor: StreamApi;
  readonly publisher: WsPublisher;
  /** The push streams' WebSocket, /v1/ingest/{id}; absent = no such route answers 404. */
  readonly ingest?: IngestServer;
  readonly snapshots?: SnapshotRegistry;
  /** Recordings (off: `recordings` undefined) and markers; absent = their routes answer 404. */
  readonly recordings?: RecordingRouteDeps;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** In a cluster: every member, and every cluster stream with its owner and fence. */
  readonly cluster?: () => ClusterView | undefined;
  /** The streams' per-track baselines (POST …/tracks/{trackId}/baseline); absent: every calibration is 409. */
  readonly baselines?: { readonly controls: Pick<BaselineControls, 'calibrate'>; readonly maxSeconds: number };
  readonly maxBodyBytes: number;
  readonly auth: { readonly token: string | null; readonly protectProbes: boolean; readonly protectMetrics: boolean };
  readonly access: AccessPolicy;
  /**
   * Bounds on slow clients (slowloris): the whole header block within `headersMs`, the whole
   * request within `requestMs`, checked every `checkIntervalMs`. WebSockets are not affected.
   */
  readonly timeouts?: { readonly headersMs: number; readonly requestMs: number; readonly checkIntervalMs: number };
}

const DEFAULT_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1000 };

const EVENTS_PATH = '/v1/events';
const STREAM_PATH = /^\/v1\/streams\/([^/]+)$/;
const RESTART_PATH = /^\/v1\/streams\/([^/]+)\/restart$/;
/** The stream API: the requests that are stream commands (list, get, add, remove, restart). */
const COMMAND_TARGET = /^\/v1\/streams(?:\/[^/?#]+(?:\/restart)?)?\/?(?:[?#]|$)/;

const CLUSTER_PATH = '/v1/cluster';

interface Refusal {
  /** Only where HTTP itself decides the status; otherwise it is the code's. */
  readonly status?: ProtocolStatus;
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string;
  readonly headers?: Record<string, string>;
}

/** The declared Content-Length, or 0 when there is none (a chunked body is capped as it is read). */
function declaredLength(req: IncomingMessage): number {
  const n = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || declaredLength(req) > 0;
}

/**
 * A final answer to a request whose body was not read. The connection is closed after it, so a
 * refused upload is not read (and thrown away) up to the request timeout to keep the connection.
 */
function refuseUnread(res: ServerResponse, r: Refusal): void {
  sendError(res, r.code, r.message, { field: r.field, headers: { ...r.headers, connection: 'close' }, status: r.status });
}

/** One port: health, readiness, metrics, the stream API and the event WebSocket. */
export class HttpServer {
  private readonly server: Server;
  private readonly log: Logger;
  private readonly staticFiles = new Map<string, Buffer>();

  constructor(private readonly deps: HttpServerDeps) {
    this.log = deps.logger.child({ component: 'http' });
    for (const reason of REFUSAL_REASONS) deps.metrics.controlCommandsRefused.inc({ source: 'http', reason }, 0);
    const t = deps.timeouts ?? DEFAULT_TIMEOUTS;
    const options = { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: t.checkIntervalMs };
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      // Last-resort guard: whatever a request does, it ends at most its own connection.
      this.route(req, res).catch((err: unknown) => this.fail(req, res, err));
    };
    this.server = createServer(options, handle);
    // `Expect: 100-continue` asks whether to upload: every check that needs no body is made first,
    // and a refusal is the final answer (the body is never invited; the connection is closed).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const admitted = this.preflight(req);
      if (!(admitted instanceof URL)) {
        this.countRefusal(req, admitted.code, admitted.field);
        return refuseUnread(res, admitted);
      }
      res.writeContinue();
      handle(req, res);
    });
    this.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
      refuseUnread(res, { status: PROTOCOL_STATUS.expectationFailed, code: ErrorCodes.BAD_REQUEST, message: 'only Expect: 100-continue is supported' }),
    );
    // Without a listener Node drops CONNECT silently; this is not a proxy, and says so in JSON.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', (err) => this.log.debug({ code: (err as NodeJS.ErrnoException).code }, 'CONNECT socket error'));
      endRaw(socket, { code: ErrorCodes.METHOD_NOT_ALLOWED, message: 'CONNECT is not supported: this server is not a proxy' });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', (err) => this.log.debug({ code: (err as NodeJS.ErrnoException).code }, 'upgrade socket error'));
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        this.log.error({ err }, 'WebSocket upgrade failed; connection dropped');
        socket.destroy();
      }
    });
    // Replaces Node's default so parser errors are logged (at debug: they are the client's) and
    // answered with a JSON body like every other error.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.log.debug({ code: err.code }, 'unparsable request');
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const [status, message] =
        err.code === 'HPE_HEADER_OVERFLOW' ? [PROTOCOL_STATUS.headersTooLarge, 'request headers too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [PROTOCOL_STATUS.requestTimeout, 'request timed out']
        : [undefined, 'malformed HTTP request'];
      endRaw(socket, { code: ErrorCodes.BAD_REQUEST, message }, { status });
    });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        // A host that does not resolve, or an address not on this machine, is the configuration's fault.
        if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EADDRNOTAVAIL') {
          reject(new ConfigError([`server.host: cannot listen on ${JSON.stringify(host)} (${err.code})`]));
        } else reject(err);
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
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

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    try {
      const e = asAnalyticsError(err);
      if (e.context.aborted === true) {
        this.log.debug({ method: req.method }, 'request body aborted by the client');
        res.destroy();
        return;
      }
      const { status, error } = errorAnswer(e);
      if (isRefusal(status)) this.countRefusal(req, e.code, error.field);
      else this.log.error({ err: e, code: e.code }, 'request failed');
      if (!res.headersSent) sendError(res, error.code, error.message, { field: error.field });
      else res.destroy();
    } catch (guardErr) {
      this.log.error({ err: guardErr }, 'error handler failed; connection dropped');
      res.destroy();
    }
  }

  /** A stream command refused before it ran, by why (va_control_commands_refused_total{source="http"}). */
  private countRefusal(req: IncomingMessage, code: string, field?: string): void {
    if (!COMMAND_TARGET.test(req.url ?? '')) return;
    const reason = refusalReason(code, field);
    if (reason !== undefined) this.deps.metrics.controlCommandsRefused.inc({ source: 'http', reason });
  }

  /**
   * Probes and metrics are open unless configured otherwise (orchestrators and scrapers hold no
   * token); everything else needs the token, /openapi.json too: it is read like the other
   * read-only routes, by clients of the API, which hold the token.
   */
  private authorised(req: IncomingMessage, url: URL, opts: { readonly allowQuery: boolean }): boolean {
    const { token, protectProbes, protectMetrics } = this.deps.auth;
    const path = url.pathname;
    if (token === null) return true;
    if ((path === '/healthz' || path === '/readyz') && !protectProbes) return true;
    if (path === '/metrics' && !protectMetrics) return true;
    return tokenMatches(token, requestToken(req, url, opts));
  }

  /** Checks shared by requests and upgrades, in order: target, Host, token, Origin. */
  private admit(req: IncomingMessage, upgrade: boolean): URL | Refusal {
    const url = parseRequestTarget(req.url);
    if (typeof url === 'string') return { code: ErrorCodes.BAD_REQUEST, message: url };
    const { access } = this.deps;
    if (!access.hostAllowed(req.headers.host)) {
      return { code: ErrorCodes.HOST_FORBIDDEN, message: 'Host header not allowed (server.allowedHosts)' };
    }
    // The live page itself holds no data: it asks for the token and sends it with every API call.
    const page = !upgrade && isStaticPath(url.pathname) && (req.method === 'GET' || req.method === 'HEAD');
    if (!page && !this.authorised(req, url, { allowQuery: upgrade })) {
      const hint = !upgrade && url.searchParams.has('token') ? ' (?token= is accepted on the WebSocket only; send Authorization: Bearer)' : '';
      return { code: ErrorCodes.UNAUTHORIZED, message: `missing or wrong bearer token${hint}`, headers: { 'WWW-Authenticate': 'Bearer' } };
    }
    if ((upgrade || isStateChanging(req.method ?? 'GET')) && !access.originAllowed(req.headers.origin, req.headers.host)) {
      return { code: ErrorCodes.ORIGIN_FORBIDDEN, message: 'cross-origin request refused (server.allowedOrigins)' };
    }
    return url;
  }

  /**
   * Every check a request passes before its body is read, in order: target, Host, token, Origin,
   * route, method; for a route that reads a body, its content type and declared length.
   */
  private preflight(req: IncomingMessage): URL | Refusal {
    const url = this.admit(req, false);
    if (!(url instanceof URL)) return url;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const methods = routeMethods(path);
    if (methods === undefined) return { code: ErrorCodes.NOT_FOUND, message: `no route for ${method} ${path}` };
    if (!methods.includes(method)) {
      return { code: ErrorCodes.METHOD_NOT_ALLOWED, message: `${method} is not allowed on ${path}`, headers: { allow: methods.join(', ') } };
    }
    if (((path === '/v1/streams' || BASELINE_PATH.test(path)) && method === 'POST') || (recordingBodyPath(path, method) && hasBody(req))) {
      if (!isJsonContentType(req.headers['content-type'])) {
        return { code: ErrorCodes.UNSUPPORTED_MEDIA_TYPE, message: 'request body must be application/json (charset utf-8 if given)', field: '(content-type)' };
      }
      if (declaredLength(req) > this.deps.maxBodyBytes) {
        return { code: ErrorCodes.PAYLOAD_TOO_LARGE, message: `request body over ${this.deps.maxBodyBytes} bytes` };
      }
    }
    return url;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = this.admit(req, true);
    if (!(url instanceof URL)) return endRaw(socket, url, { headers: url.headers, status: url.status });
    const ingest = INGEST_PATH.exec(url.pathname);
    if (ingest && this.deps.ingest) return this.deps.ingest.handleUpgrade(req, socket, head, ingest[1]!, url);
    if (url.pathname !== EVENTS_PATH) return endRaw(socket, { code: ErrorCodes.NOT_FOUND, message: `no WebSocket at ${url.pathname}` });
    const filter = parseEventFilter(url);
    if (typeof filter === 'string') return endRaw(socket, { code: ErrorCodes.BAD_REQUEST, message: filter });
    this.deps.publisher.handleUpgrade(req, socket, head, filter);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = this.preflight(req);
    if (!(url instanceof URL)) {
      this.countRefusal(req, url.code, url.field);
      return hasBody(req) ? refuseUnread(res, url) : sendError(res, url.code, url.message, url);
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (serveStatic(req, res, path, this.staticFiles)) return;
    const { supervisor, metrics } = this.deps;
    // HEAD runs the GET handler; Node sends the headers and drops the body.
    const read = method === 'GET' || method === 'HEAD';

    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const r = this.deps.readiness.ready();
      return sendJson(res, r.ready ? 200 : PROTOCOL_STATUS.unavailable, r);
    }
    if (path === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (INGEST_PATH.test(path)) return sendError(res, ErrorCodes.BAD_REQUEST, 'this endpoint is a WebSocket: push JPEG frames over it (docs/ingest.md)', { status: PROTOCOL_STATUS.upgradeRequired, headers: { upgrade: 'websocket' } });
    if (path === EVENTS_PATH) return sendError(res, ErrorCodes.BAD_REQUEST, 'this endpoint is a WebSocket', { status: PROTOCOL_STATUS.upgradeRequired, headers: { upgrade: 'websocket' } });
    if (path === OPENAPI_PATH) return sendJson(res, 200, openApiDocument(HTTP_ROUTES));
    if (path === ASYNCAPI_PATH) return sendJson(res, 200, asyncApiDocument());
    const schemaOf = EVENT_SCHEMA_PATH.exec(path)?.[1];
    if (schemaOf !== undefined) {
      return Object.hasOwn(EVENT_SCHEMAS, schemaOf)
        ? sendJson(res, 200, eventJsonSchema(schemaOf as EventSchemaType))
        : sendError(res, ErrorCodes.NOT_FOUND, `no event type ${JSON.stringify(schemaOf.slice(0, 64))} (known: ${Object.keys(EVENT_SCHEMAS).join(', ')})`);
    }
    if (path === CLUSTER_PATH) {
      const view = this.deps.cluster?.();
      return view === undefined ? sendError(res, ErrorCodes.NOT_FOUND, 'this daemon is not part of a cluster (config cluster:)') : sendJson(res, 200, view);
    }
    if (path === '/v1/streams') return read ? sendJson(res, 200, { streams: supervisor.list() }) : this.createStream(req, res);
    if (isRecordingPath(path)) {
      if (!this.deps.recordings) return sendError(res, ErrorCodes.NOT_FOUND, 'recordings and markers are not served here');
      return serveRecordings(req, res, path, this.deps.recordings);
    }
    const snap = SNAPSHOT_PATH.exec(path);
    if (snap) return serveSnapshot(req, res, url, snap[1]!, { supervisor, snapshots: this.deps.snapshots });
    const cal = BASELINE_PATH.exec(path);
    if (cal) {
      const { baselines, maxBodyBytes } = this.deps;
      return calibrateBaseline(req, res, cal[1]!, cal[2]!, { baselines: baselines?.controls, maxSeconds: baselines?.maxSeconds ?? CALIBRATION_SECONDS_LIMIT, has: (id) => supervisor.has(id), maxBodyBytes });
    }
    const m = RESTART_PATH.exec(path) ?? STREAM_PATH.exec(path);
    const id = decodeSegment(m?.[1] ?? '');
    if (id === undefined) {
      this.countRefusal(req, ErrorCodes.BAD_REQUEST, 'id');
      return sendError(res, ErrorCodes.BAD_REQUEST, 'malformed stream id');
    }
    const missing = (): void => sendError(res, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
    if (path.endsWith('/restart')) {
      const info = await supervisor.restart(id);
      return info ? sendJson(res, 200, info) : missing();
    }
    if (read) {
      const info = supervisor.get(id);
      return info ? sendJson(res, 200, info) : missing();
    }
    return (await supervisor.remove(id)) ? void res.writeHead(204).end() : missing();
  }

  /** Refusals (the body, then the stream's checks) travel to fail(), which answers them. */
  private async createStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Content type and declared length were checked in preflight().
    const info = await addStream(this.deps.supervisor, await readJsonBody(req, this.deps.maxBodyBytes));
    sendJson(res, 201, info, { location: `/v1/streams/${encodeURIComponent(info.id)}` });
  }
}
