/**
 * The push source's WebSocket, `/v1/ingest/{id}` (docs/ingest.md): a client opens it (with the
 * token and Origin checks of every WebSocket, made by the HTTP server before this), the daemon adds
 * stream `{id}` (url `push:{id}`, origin `ingest`, never persisted), and every binary message is
 * one JPEG frame for it. The stream is removed when the socket closes, and the socket is closed
 * when the stream is removed.
 *
 * Limits, each with its config key: message bytes (ingest.maxFrameBytes: a larger message closes
 * the socket with 1009 before it is buffered), frame pixels (ingest.maxPixels, in the source),
 * frames per second (ingest.maxFps: a token bucket holding one second's worth), push streams per
 * client address (ingest.maxStreamsPerClient), streams in all (server.maxStreams) and idleness
 * (ingest.idleTimeoutMs: an idle socket would hold a detector session for nothing). A frame that
 * is refused is counted (va_ingest_frames_refused_total) and skipped; the client is told, at most
 * once a second per reason, in a JSON text message.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Config } from '../config/schema.js';
import { ErrorCodes, asAnalyticsError, type DecodeError, type ErrorCode } from '../core/errors.js';
import { STREAM_ID_PATTERN } from '../core/ids.js';
import type { AnalyticsEvent } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PushChannel, PushChannels, PushRefusal } from '../streams/open-source.js';
import type { SnapshotPrivacy } from './snapshots.js';
import { endRaw } from './http-errors.js';
import { decodeSegment } from './request-target.js';
import type { StreamApi } from './stream-api.js';

export const INGEST_PATH = /^\/v1\/ingest\/([^/]+)$/;

export type IngestOptions = Config['ingest'] & {
  /** Sockets are pinged this often; one that did not answer the previous ping is cut off (0 = off). */
  readonly pingIntervalMs: number;
};

type Refusal = PushRefusal | 'rate';
const REFUSALS: readonly Refusal[] = ['rate', 'busy', 'undecodable', 'too_large'];
/** A refused frame is reported to its client at most this often per reason. */
const NOTICE_INTERVAL_MS = 1000;
/** Notices are not queued behind a client that does not read. */
const MAX_NOTICE_BUFFER = 64 * 1024;

/** Refills `ratePerSec` tokens a second up to `capacity`; a frame takes one. */
class TokenBucket {
  private tokens: number;
  private at = performance.now();

  constructor(
    private readonly ratePerSec: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  take(now = performance.now()): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.ratePerSec);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Pusher {
  readonly ws: WebSocket;
  readonly id: string;
  alive: boolean;
  /** performance.now() of the latest message. */
  lastMessageAt: number;
  /** Its stream was removed by someone else (the API, a shutdown): the id may already name a new stream. */
  streamGone: boolean;
  /** Frees its client and stream slots (idempotent). */
  readonly release: () => void;
}

/** How long a client whose stream was removed may take to answer the close before it is cut. */
const CLOSE_GRACE_MS = 2000;

export interface IngestDeps {
  readonly supervisor: Pick<StreamApi, 'add' | 'remove'>;
  readonly channels: PushChannels;
  readonly events: Observable<AnalyticsEvent>;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export class IngestServer {
  private readonly wss: WebSocketServer;
  private readonly perClient = new Map<string, number>();
  private readonly pushers = new Map<string, Pusher>();
  private readonly sub: Subscription;
  private readonly pinger: NodeJS.Timeout | undefined;
  private readonly idleCheck: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly deps: IngestDeps,
    private readonly opts: IngestOptions,
  ) {
    this.log = deps.logger.child({ component: 'ingest' });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes });
    for (const reason of REFUSALS) deps.metrics.ingestFramesRefused.inc({ reason }, 0);
    deps.metrics.ingestClients.set(0);
    // A push stream removed by the API (or a shutdown) ends its client's socket.
    this.sub = deps.events.subscribe((e) => {
      if (e.type !== 'stream' || e.state !== 'removed') return;
      const pusher = this.pushers.get(e.streamId);
      if (!pusher) return;
      // Its socket closing later must not remove a stream re-created under the same id meanwhile,
      // and its slots are free now, not when a slow (or deaf) client answers the close.
      pusher.streamGone = true;
      this.pushers.delete(e.streamId);
      pusher.release();
      pusher.ws.close(1000, 'stream removed');
      setTimeout(() => pusher.ws.terminate(), CLOSE_GRACE_MS).unref();
    });
    if (opts.pingIntervalMs > 0) this.pinger = setInterval(() => this.pingAll(), opts.pingIntervalMs).unref();
    // Checked a few times per timeout, so a socket goes at most a quarter of it late.
    this.idleCheck = setInterval(() => this.closeIdle(), Math.max(250, opts.idleTimeoutMs / 4)).unref();
  }

  /** Called from the HTTP server's 'upgrade' once the target, Host, token and Origin passed. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rawId: string, url: URL): void {
    const refuse = (code: ErrorCode, message: string): void => endRaw(socket, { code, message });
    if (!this.opts.enabled) return refuse(ErrorCodes.NOT_FOUND, 'pushing frames is turned off (ingest.enabled: false)');
    const id = decodeSegment(rawId);
    if (id === undefined || !STREAM_ID_PATTERN.test(id)) return refuse(ErrorCodes.BAD_REQUEST, 'the stream id must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}');
    const snapshots = url.searchParams.get('snapshots');
    if (snapshots !== null && snapshots !== 'raw' && snapshots !== 'blurred' && snapshots !== 'off') {
      return refuse(ErrorCodes.BAD_REQUEST, 'snapshots must be raw, blurred or off (default off)');
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.opts.maxStreamsPerClient) {
      return refuse(ErrorCodes.LIMIT, `this client already pushes ${held} streams, the most one client may (ingest.maxStreamsPerClient)`);
    }
    const channel = this.deps.channels.open(id, { onRefused: (reason, index, err) => this.refused(id, reason, index, err) });
    if (!channel) return refuse(ErrorCodes.CONFLICT, `a client already pushes frames to stream ${id}`);
    // The slot is held from here, through the asynchronous add: parallel upgrades cannot exceed it.
    this.perClient.set(client, held + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.deps.channels.close(id, channel);
      const n = (this.perClient.get(client) ?? 1) - 1;
      if (n > 0) this.perClient.set(client, n);
      else this.perClient.delete(client);
    };
    // Last-resort guard, as for requests: whatever goes wrong ends this connection only.
    this.start(req, socket, head, { id, channel, release, ...(snapshots !== null ? { snapshots } : {}) }).catch((err: unknown) => {
      this.log.error({ err, streamId: id }, 'push upgrade failed; connection dropped');
      socket.destroy();
      release();
    });
  }

  private async start(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    s: { readonly id: string; readonly channel: PushChannel; readonly release: () => void; readonly snapshots?: SnapshotPrivacy },
  ): Promise<void> {
    try {
      await this.deps.supervisor.add(
        { id: s.id, url: `push:${s.id}`, realtime: true, loop: false, ...(s.snapshots ? { privacy: { snapshots: s.snapshots } } : {}) },
        'ingest',
      );
    } catch (err) {
      s.release();
      const e = asAnalyticsError(err);
      return endRaw(socket, { code: e.code, message: e.message });
    }
    const removeStream = (streamGone = false): void => {
      s.release();
      if (streamGone) return;
      this.deps.supervisor.remove(s.id, 'cluster').catch((err: unknown) => this.log.warn({ err, streamId: s.id }, 'could not remove a push stream'));
    };
    if (socket.destroyed || !socket.writable) return removeStream();
    // ws refuses a bad handshake (version, key) by destroying the socket without calling back:
    // the stream added for it must go with the socket.
    let served = false;
    socket.once('close', () => served || removeStream());
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        served = true;
        this.serve(ws, s.id, s.channel, s.release, removeStream);
      });
    } catch (err) {
      this.log.error({ err }, 'ingest upgrade failed; connection dropped');
      socket.destroy();
      removeStream();
    }
  }

  private serve(ws: WebSocket, id: string, channel: PushChannel, release: () => void, removeStream: (streamGone: boolean) => void): void {
    const pusher: Pusher = { ws, id, alive: true, lastMessageAt: performance.now(), streamGone: false, release };
    this.pushers.set(id, pusher);
    this.deps.metrics.ingestClients.set(this.pushers.size);
    const bucket = new TokenBucket(this.opts.maxFps, Math.max(1, this.opts.maxFps));
    let index = 0;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const i = index++;
      pusher.lastMessageAt = performance.now();
      if (!isBinary) return void ws.close(1003, 'send each frame as one binary message (a JPEG)');
      if (!bucket.take()) return this.refused(id, 'rate', i);
      channel.push({ bytes: asBytes(data), index: i, arrivedAtMs: performance.now() });
    });
    ws.on('pong', () => (pusher.alive = true));
    // Oversize messages (1009) and protocol errors end up here, then in 'close'.
    ws.on('error', (err) => this.log.debug({ err, streamId: id }, 'ingest socket error'));
    ws.on('close', (code) => {
      if (this.pushers.get(id) === pusher) this.pushers.delete(id);
      this.deps.metrics.ingestClients.set(this.pushers.size);
      this.log.info({ streamId: id, code }, pusher.streamGone ? 'push client disconnected after its stream was removed' : 'push client disconnected; stream removed');
      removeStream(pusher.streamGone);
    });
    this.log.info({ streamId: id }, 'push client connected');
  }

  private readonly noticeAt = new Map<string, number>();

  private refused(id: string, reason: Refusal, index: number, err?: DecodeError): void {
    this.deps.metrics.ingestFramesRefused.inc({ reason });
    const ws = this.pushers.get(id)?.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_NOTICE_BUFFER) return;
    const key = `${id}|${reason}`;
    const now = performance.now();
    if (now - (this.noticeAt.get(key) ?? -Infinity) < NOTICE_INTERVAL_MS) return;
    this.noticeAt.set(key, now);
    if (this.noticeAt.size > 4 * (this.pushers.size + 1) * REFUSALS.length) this.noticeAt.clear();
    ws.send(JSON.stringify({ type: 'refused', reason, frame: index, ...(err ? { error: { code: err.code, message: err.message } } : {}) }));
  }

  private closeIdle(): void {
    const now = performance.now();
    for (const p of this.pushers.values()) {
      if (p.ws.readyState === WebSocket.OPEN && now - p.lastMessageAt > this.opts.idleTimeoutMs) {
        this.log.info({ streamId: p.id }, 'push client sent no frame within ingest.idleTimeoutMs; closed');
        p.ws.close(1008, `no frame for ${Math.round(this.opts.idleTimeoutMs / 1000)} s (ingest.idleTimeoutMs)`);
      }
    }
  }

  private pingAll(): void {
    for (const p of this.pushers.values()) {
      if (p.ws.readyState !== WebSocket.OPEN) continue;
      if (!p.alive) {
        p.ws.terminate();
        continue;
      }
      p.alive = false;
      p.ws.ping();
    }
  }

  /** Ends every push connection (1001); their streams are removed by the supervisor's own close. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    clearInterval(this.idleCheck);
    this.sub.unsubscribe();
    for (const p of this.pushers.values()) p.ws.close(1001, 'daemon shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function asBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
