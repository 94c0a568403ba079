/**
 * affect-daemon/client: a typed client of the daemon for Node and browsers. ESM with no runtime
 * imports of its own: browsers use their WebSocket and fetch; Node uses `ws` (loaded when first
 * needed), which can send the token as a header and pause reading for a slow consumer. The event
 * types are the ones the daemon's JSON Schemas are generated from (core/event-schemas.ts).
 *
 *   const daemon = connect({ url: 'http://127.0.0.1:8080', token });
 *   for await (const e of daemon.subscribe({ streams: ['cam'], types: ['affect'] })) console.log(e.expr.label);
 */
import type { AnalyticsEvent, EventType } from '../core/records.js';
import type { StreamInfo } from '../supervisor/stream-info.js';
import type { CreateStreamPayload, createStreamPayload } from '../transport/stream-payload.js';
import type { z } from 'zod';

export type { AnalyticsEvent, EventType, StreamInfo, CreateStreamPayload };
/** The body of POST /v1/streams as a caller writes it (defaults may be left out). */
export type StreamPayload = z.input<typeof createStreamPayload>;
/** The event of one type. */
export type EventOf<T extends EventType> = Extract<AnalyticsEvent, { readonly type: T }>;

export interface ConnectOptions {
  /** The daemon's HTTP address (http://host:8080); the events' ws:// (wss:// for https) address is derived from it. */
  readonly url: string | URL;
  /** server token (auth.token), when the daemon has one. */
  readonly token?: string | undefined;
}

export type ConnectionState =
  | { readonly state: 'connecting'; readonly attempt: number }
  | { readonly state: 'open' }
  /** `retryInMs`: when the next attempt is made; absent when the subscription has ended. */
  | { readonly state: 'closed'; readonly code: number; readonly reason: string; readonly retryInMs?: number };

export interface SubscribeOptions<T extends EventType> {
  /** Stream ids to receive; absent = every stream. */
  readonly streams?: readonly string[] | undefined;
  /** Event types to receive; absent = every type. */
  readonly types?: readonly T[] | undefined;
  /**
   * Events held for a consumer that is behind (default 1024). Beyond it, on Node, the socket is
   * paused, so the daemon's own slow-client policy takes over (it drops this client's messages
   * and closes it after server.wsMaxBehindMs; the client then reconnects); a browser cannot
   * pause a WebSocket, so there the oldest held events are dropped (counted in stats.dropped).
   */
  readonly maxQueued?: number;
  /** `pause` (Node's default) or `drop-oldest` (browsers, and Node on request). */
  readonly overflow?: 'pause' | 'drop-oldest';
  /** Backoff between connection attempts (default 500 ms doubling to 10 s); false = do not reconnect. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number } | false;
  readonly onState?: (state: ConnectionState) => void;
  /** Ends the subscription (as close()). */
  readonly signal?: AbortSignal;
}

export interface SubscriptionStats {
  readonly received: number;
  /** Events dropped because the consumer was behind (drop-oldest, or beyond twice maxQueued while paused). */
  readonly dropped: number;
  /** Messages that were not JSON events (skipped). */
  readonly malformed: number;
  readonly queued: number;
  readonly paused: boolean;
  /** Connections opened after the first. */
  readonly reconnects: number;
}

/** Events as they arrive, across reconnects (events published while disconnected are not replayed). */
export interface Subscription<E> extends AsyncIterableIterator<E> {
  readonly stats: SubscriptionStats;
  /** Ends the subscription; `abrupt` drops the connection without the closing handshake (Node). */
  close(opts?: { readonly abrupt?: boolean }): void;
}

/** A refusal by the daemon: the HTTP status and the error envelope's code, message and field. */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A WebSocket as both runtimes have it: the browser's, or ws's (which adds pause/resume/terminate). */
interface Socket {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
  pause?(): void;
  resume?(): void;
  terminate?(): void;
  on?(event: 'unexpected-response', listener: (req: { destroy(): void }, res: NodeLikeResponse) => void): void;
}
interface NodeLikeResponse {
  readonly statusCode?: number;
  on(event: 'data', l: (chunk: Uint8Array) => void): void;
  on(event: 'end' | 'error', l: () => void): void;
}
type SocketFactory = (url: string, token: string | undefined) => Socket;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
/** Statuses of a refused upgrade that another attempt would get again. */
const FATAL = new Set([400, 401, 403, 404]);
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

let nodeFactory: Promise<SocketFactory> | undefined;
function socketFactory(): Promise<SocketFactory> {
  if (!isNode) {
    const Browser = (globalThis as unknown as { WebSocket: new (url: string) => Socket }).WebSocket;
    // The browser cannot set headers on a WebSocket: the daemon takes ?token= there.
    return Promise.resolve((url, token) => {
      const u = new URL(url);
      if (token !== undefined) u.searchParams.set('token', token);
      return new Browser(u.href);
    });
  }
  nodeFactory ??= import('ws').then(({ default: WS }) => (url: string, token: string | undefined) =>
    new WS(url, { headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}, maxPayload: MAX_MESSAGE_BYTES, followRedirects: false }) as unknown as Socket,
  );
  return nodeFactory;
}

async function refusal(res: Response): Promise<DaemonError> {
  let code = `HTTP ${res.status}`;
  let message = res.statusText;
  let field: string | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; field?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.field === 'string') field = body.error.field;
  } catch {
    // not the daemon's envelope: the status line
  }
  return new DaemonError(res.status, code, message, field);
}

const isEvent = (v: unknown): v is AnalyticsEvent =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string' && typeof (v as { streamId?: unknown }).streamId === 'string';

function textOf(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  // ws hands text frames over as Buffers (a Uint8Array); binary frames are not events.
  if (data instanceof Uint8Array) return new TextDecoder('utf-8', { fatal: false }).decode(data);
  return undefined;
}

class EventSubscription<E extends AnalyticsEvent> implements Subscription<E> {
  private readonly queue: E[] = [];
  private waiting: { resolve: (r: IteratorResult<E>) => void; reject: (e: unknown) => void } | undefined;
  private socket: Socket | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private failure: unknown;
  private opened = 0;
  private attempt = 0;
  private counts = { received: 0, dropped: 0, malformed: 0 };
  private paused = false;
  private readonly maxQueued: number;
  private readonly overflow: 'pause' | 'drop-oldest';

  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly opts: SubscribeOptions<EventType>,
  ) {
    this.maxQueued = Math.max(1, opts.maxQueued ?? 1024);
    this.overflow = opts.overflow ?? (isNode ? 'pause' : 'drop-oldest');
    if (opts.signal?.aborted) this.finish();
    else {
      opts.signal?.addEventListener('abort', () => this.close(), { once: true });
      this.connect();
    }
  }

  get stats(): SubscriptionStats {
    return { ...this.counts, queued: this.queue.length, paused: this.paused, reconnects: Math.max(0, this.opened - 1) };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<E>> {
    const e = this.queue.shift();
    if (e !== undefined) {
      if (this.paused && this.queue.length <= this.maxQueued / 2) this.setPaused(false);
      return Promise.resolve({ value: e, done: false });
    }
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined;
      return Promise.reject(f);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting) return Promise.reject(new Error('affect-daemon client: next() called again before the previous call settled'));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<E>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(opts: { readonly abrupt?: boolean } = {}): void {
    if (this.ended) return;
    const s = this.socket;
    this.finish();
    if (!s) return;
    if (opts.abrupt && s.terminate) s.terminate();
    else if (s.readyState <= 1) s.close(1000, 'client closed');
  }

  private finish(failure?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    const w = this.waiting;
    this.waiting = undefined;
    if (failure !== undefined) {
      if (w) w.reject(failure);
      else this.failure = failure;
    } else w?.resolve({ value: undefined, done: true });
  }

  private setPaused(on: boolean): void {
    this.paused = on;
    if (on) this.socket?.pause?.();
    else this.socket?.resume?.();
  }

  /** A socket that cannot even be made (no ws on Node, a URL the browser refuses) ends the subscription with why. */
  private connect(): void {
    this.open().catch((err: unknown) => this.finish(err instanceof Error ? err : new Error(String(err))));
  }

  private async open(): Promise<void> {
    const make = await socketFactory();
    if (this.ended) return;
    this.opts.onState?.({ state: 'connecting', attempt: ++this.attempt });
    let refused: DaemonError | undefined;
    const s = make(this.url, this.token);
    this.socket = s;
    this.paused = false;
    s.on?.('unexpected-response', (req, res) => {
      const chunks: Uint8Array[] = [];
      res.on('data', (c) => chunks.length < 16 && chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        let code = `HTTP ${status}`;
        let message = `the daemon refused the subscription (HTTP ${status})`;
        try {
          const body = JSON.parse(new TextDecoder().decode(concat(chunks))) as { error?: { code?: string; message?: string } };
          code = body.error?.code ?? code;
          message = body.error?.message ?? message;
        } catch {
          // no envelope (503 has no body)
        }
        refused = new DaemonError(status, code, message);
        req.destroy();
        this.closed(s, 1006, message, refused);
      });
      res.on('error', () => undefined);
    });
    s.onopen = () => {
      this.opened++;
      this.attempt = 0;
      this.opts.onState?.({ state: 'open' });
    };
    s.onmessage = (m) => this.deliver(m.data);
    s.onerror = () => undefined;
    s.onclose = (ev) => this.closed(s, ev.code, ev.reason, refused);
  }

  private closed(s: Socket, code: number, reason: string, refused: DaemonError | undefined): void {
    if (this.socket !== s) return;
    this.socket = undefined;
    if (this.ended) return;
    if (refused && FATAL.has(refused.status)) {
      this.opts.onState?.({ state: 'closed', code, reason });
      return this.finish(refused);
    }
    if (this.opts.reconnect === false) {
      this.opts.onState?.({ state: 'closed', code, reason });
      return this.finish();
    }
    const first = this.opts.reconnect?.initialDelayMs ?? 500;
    const cap = this.opts.reconnect?.maxDelayMs ?? 10_000;
    const delay = Math.min(cap, first * 2 ** Math.min(Math.max(0, this.attempt - 1), 16));
    this.opts.onState?.({ state: 'closed', code, reason, retryInMs: delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private deliver(data: unknown): void {
    if (this.ended) return;
    const text = textOf(data);
    let value: unknown;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!isEvent(value)) {
      this.counts.malformed++;
      return;
    }
    this.counts.received++;
    const w = this.waiting;
    if (w && this.queue.length === 0) {
      this.waiting = undefined;
      return w.resolve({ value: value as E, done: false });
    }
    this.queue.push(value as E);
    // Paused, the messages of the chunk already read still arrive: a hard cap of twice the bound.
    const hardCap = this.overflow === 'pause' && this.socket?.pause ? this.maxQueued * 2 : this.maxQueued;
    while (this.queue.length > hardCap) {
      this.queue.shift();
      this.counts.dropped++;
    }
    if (this.overflow === 'pause' && !this.paused && this.queue.length >= this.maxQueued && this.socket?.pause) this.setPaused(true);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The latest analysed frame of a stream. */
export interface Snapshot {
  /** The frame counter of the picture (x-frame-seq). */
  readonly frame: number | undefined;
  readonly jpeg: Uint8Array;
}

export interface DaemonClient {
  /** The events, as an async iterator of typed events (reconnecting, with backpressure). */
  subscribe<T extends EventType = EventType>(opts?: SubscribeOptions<T>): Subscription<EventOf<T>>;
  list(): Promise<StreamInfo[]>;
  get(id: string): Promise<StreamInfo | undefined>;
  add(stream: StreamPayload): Promise<StreamInfo>;
  remove(id: string): Promise<void>;
  restart(id: string): Promise<StreamInfo>;
  /** The latest analysed frame as JPEG; undefined while the stream has none yet. */
  snapshot(id: string, opts?: { readonly annotated?: boolean }): Promise<Snapshot | undefined>;
}

export function connect(opts: ConnectOptions): DaemonClient {
  const base = new URL(String(opts.url));
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`affect-daemon client: url must be http:// or https://, got ${base.protocol}//`);
  const token = opts.token !== undefined && opts.token !== '' ? opts.token : undefined;
  const at = (p: string): string => new URL(p, base).href;
  const headers = (extra: Record<string, string> = {}): Record<string, string> => (token !== undefined ? { ...extra, authorization: `Bearer ${token}` } : extra);
  const streamPath = (id: string): string => `/v1/streams/${encodeURIComponent(id)}`;
  const call = async <R>(method: string, p: string, body?: unknown): Promise<R> => {
    const res = await fetch(at(p), {
      method,
      headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw await refusal(res);
    return (res.status === 204 ? undefined : await res.json()) as R;
  };
  return {
    subscribe<T extends EventType = EventType>(o: SubscribeOptions<T> = {}): Subscription<EventOf<T>> {
      const u = new URL('/v1/events', base);
      u.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
      if (o.streams !== undefined) u.searchParams.set('streams', o.streams.join(','));
      if (o.types !== undefined) u.searchParams.set('types', o.types.join(','));
      return new EventSubscription<EventOf<T>>(u.href, token, o);
    },
    list: async () => (await call<{ streams: StreamInfo[] }>('GET', '/v1/streams')).streams,
    get: async (id) => {
      try {
        return await call<StreamInfo>('GET', streamPath(id));
      } catch (e) {
        if (e instanceof DaemonError && e.status === 404 && e.code === 'VA_ERR_NOT_FOUND') return undefined;
        throw e;
      }
    },
    add: (stream) => call<StreamInfo>('POST', '/v1/streams', stream),
    remove: (id) => call<void>('DELETE', streamPath(id)),
    restart: (id) => call<StreamInfo>('POST', `${streamPath(id)}/restart`),
    snapshot: async (id, o = {}) => {
      const res = await fetch(at(`${streamPath(id)}/snapshot.jpg${o.annotated ? '?annotated=1' : ''}`), { headers: headers() });
      // 404 with Retry-After: the stream exists and has no analysed frame yet.
      if (res.status === 404 && res.headers.has('retry-after')) {
        await res.arrayBuffer();
        return undefined;
      }
      if (!res.ok) throw await refusal(res);
      const seq = res.headers.get('x-frame-seq');
      return { frame: seq === null ? undefined : Number(seq), jpeg: new Uint8Array(await res.arrayBuffer()) };
    },
  };
}
