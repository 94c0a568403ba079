import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { EVENT_TYPES, type EventType } from '../core/records.js';
import { jsonLine, parseEventMessage, prettyLine } from './event-line.js';

export interface WatchOptions {
  /** ws:// or wss:// URL of the daemon's /v1/events. */
  readonly url: URL;
  readonly types?: readonly EventType[];
  readonly streams?: readonly string[];
  readonly token?: string;
  readonly pretty: boolean;
}

export interface WatchIo {
  /** One event line (no newline); returns false when the output is gone (a closed pipe). */
  line(text: string): boolean;
  /** A diagnostic for the person running it. */
  note(text: string): void;
}

/** Largest message taken from the server; events are a few KiB, so more is not an event. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Parses --url: a ws:// or wss:// URL, or a usage error message. */
export function parseEventsUrl(value: string): URL | string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `--url: ${JSON.stringify(value)} is not a URL (e.g. ws://127.0.0.1:8080/v1/events)`;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `--url: expected a ws:// or wss:// URL, got ${u.protocol}//`;
  return u;
}

/** Parses --types: known event types, comma-separated, or a usage error message. */
export function parseEventTypes(value: string): EventType[] | string {
  const list = value.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  const unknown = list.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (list.length === 0) return '--types: empty (leave it out to receive every type)';
  if (unknown.length > 0) return `--types: unknown event type(s) ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`;
  return list as EventType[];
}

/** The URL asked for: the given one with the filters set (replacing any already in it). */
export function subscriptionUrl(o: Pick<WatchOptions, 'url' | 'types' | 'streams'>): URL {
  const u = new URL(o.url.href);
  if (o.types !== undefined) u.searchParams.set('types', o.types.join(','));
  if (o.streams !== undefined && o.streams.length > 0) u.searchParams.set('streams', o.streams.join(','));
  return u;
}

/** The URL for messages: no token, no password. */
function shownUrl(u: URL): string {
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  c.searchParams.delete('token');
  return c.href;
}

/**
 * Subscribes to the daemon's events and writes one line per event until the connection ends or
 * `stop` aborts. Resolves with the exit code: 0 after `stop`, 1 when the connection could not be
 * made or was closed by the other side (said through `io.note`).
 */
export function watchEvents(o: WatchOptions, io: WatchIo, stop: AbortSignal): Promise<number> {
  const target = subscriptionUrl(o);
  const where = shownUrl(target);
  // The token travels in a header, never in the URL (which ends up in logs).
  const headers: Record<string, string> = o.token !== undefined && o.token !== '' ? { authorization: `Bearer ${o.token}` } : {};
  return new Promise<number>((resolve) => {
    let settled = false;
    let opened = false;
    const finish = (code: number, message?: string): void => {
      if (settled) return;
      settled = true;
      if (message !== undefined) io.note(message);
      stop.removeEventListener('abort', onStop);
      resolve(code);
    };
    const ws = new WebSocket(target, { headers, maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, followRedirects: false });
    const onStop = (): void => {
      finish(0);
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
      // A server that never answers the close frame does not hold the process.
      setTimeout(() => ws.terminate(), 1000).unref();
    };
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop);

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        if (size < 4096) chunks.push(b);
        size += b.length;
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).subarray(0, 4096).toString('utf8');
        let detail = body.trim().replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
        try {
          const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
          if (typeof parsed.error?.message === 'string') detail = `${String(parsed.error.code)}: ${parsed.error.message}`.replace(/[\u0000-\u001f\u007f]/g, ' ');
        } catch {
          // not the daemon's JSON error: the text as it came
        }
        const hint = res.statusCode === 401 ? (o.token ? ' (is --token / DAEMON_TOKEN the daemon\'s auth.token?)' : ' (the daemon wants a token: --token or DAEMON_TOKEN)') : '';
        finish(1, `daemon events: ${where} refused the subscription: HTTP ${res.statusCode ?? '?'}${detail ? ` ${detail}` : ''}${hint}`);
        ws.terminate();
      });
      res.on('error', () => finish(1, `daemon events: ${where} refused the subscription: HTTP ${res.statusCode ?? '?'}`));
    });
    ws.on('open', () => {
      opened = true;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (settled) return;
      const e = isBinary ? undefined : parseEventMessage(data.toString('utf8'));
      if (e === undefined) {
        io.note(`daemon events: skipped a message that is not a JSON event (${data.length} bytes)`);
        return;
      }
      if (!io.line(o.pretty ? prettyLine(e) : jsonLine(e))) onStop();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      const why =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? `a message too big for an event (over ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB; closed with 1009)`
          : err.code !== undefined && !err.message.includes(err.code)
            ? `${err.code} ${err.message}`
            : err.message;
      if (!opened) finish(1, `daemon events: cannot connect to ${where}: ${why}`);
      else finish(1, `daemon events: connection to ${where} failed: ${why}`);
      ws.terminate();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const why = reason.toString('utf8').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
      finish(1, `daemon events: the daemon closed the connection (${code}${why ? ` ${why}` : ''})`);
    });
  });
}
