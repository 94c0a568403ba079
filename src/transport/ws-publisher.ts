import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, WebSocket } from 'ws';
import { EVENT_TYPES, type AnalyticsEvent, type EventType } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { SlowClientPolicy } from './slow-client-policy.js';
import { PROTOCOL_STATUS, endRaw } from './http-errors.js';

export interface EventFilter {
  readonly streams?: ReadonlySet<string>;
  readonly types?: ReadonlySet<EventType>;
}

/**
 * Parses `?streams=a,b&types=faces,stream`; returns an error message for unknown types and for
 * an empty list (which would silently subscribe to nothing).
 */
export function parseEventFilter(url: URL): EventFilter | string {
  const list = (name: string): string[] | undefined => {
    const v = url.searchParams.get(name);
    return v === null ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  };
  const streams = list('streams');
  const types = list('types');
  for (const [name, l] of [['streams', streams], ['types', types]] as const) {
    if (l?.length === 0) return `${name}= is empty: leave it out to receive every ${name === 'types' ? 'type' : 'stream'}`;
  }
  const unknown = types?.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t)) ?? [];
  if (unknown.length > 0) return `unknown event type(s) ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`;
  return {
    ...(streams ? { streams: new Set(streams) } : {}),
    ...(types ? { types: new Set(types as EventType[]) } : {}),
  };
}

interface Client {
  readonly ws: WebSocket;
  readonly filter: EventFilter;
  readonly policy: SlowClientPolicy;
  /** A pong (or the open) arrived since the last ping. */
  alive: boolean;
}

export interface WsPublisherOptions {
  readonly maxClients: number;
  /** Bytes buffered in a client's socket beyond which its messages are dropped. */
  readonly maxBufferedBytes: number;
  /** A client that stays behind this long is closed with 1008 (policy). */
  readonly maxBehindMs: number;
  /**
   * Every client is pinged this often; one that has not answered the previous ping is cut off
   * (a peer that vanished without a FIN would otherwise hold its slot for ever). 0 = off.
   */
  readonly pingIntervalMs?: number;
}

/** Fans events out to WebSocket clients; a slow client loses its own messages, nobody else's. */
export class WsPublisher {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<Client>();
  private readonly subscription: Subscription;
  private readonly log: Logger;
  private readonly pinger: NodeJS.Timeout | undefined;

  constructor(
    events: Observable<AnalyticsEvent>,
    private readonly deps: { readonly metrics: Metrics; readonly logger: Logger },
    private readonly opts: WsPublisherOptions,
  ) {
    this.log = deps.logger.child({ component: 'ws' });
    this.subscription = events.subscribe((e) => this.publish(e));
    const every = opts.pingIntervalMs ?? 0;
    if (every > 0) this.pinger = setInterval(() => this.pingAll(), every).unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Called from the HTTP server's 'upgrade' once the path matched. Returns false if refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, filter: EventFilter): void {
    if (this.clients.size >= this.opts.maxClients) {
      endRaw(socket, { status: PROTOCOL_STATUS.unavailable });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, filter, policy: new SlowClientPolicy(ws, this.opts), alive: true };
      this.clients.add(client);
      this.deps.metrics.wsClients.set(this.clients.size);
      ws.on('close', () => {
        this.clients.delete(client);
        this.deps.metrics.wsClients.set(this.clients.size);
      });
      ws.on('error', (err) => this.log.debug({ err }, 'client socket error'));
      ws.on('pong', () => (client.alive = true));
      // Clients only listen; anything they send is ignored.
      ws.on('message', () => undefined);
    });
  }

  private publish(event: AnalyticsEvent): void {
    let text: string | undefined;
    const now = Date.now();
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      if (c.filter.types && !c.filter.types.has(event.type)) continue;
      if (c.filter.streams && !c.filter.streams.has(event.streamId)) continue;
      text ??= JSON.stringify(event);
      const outcome = c.policy.deliver(text, now);
      if (outcome !== 'sent') this.deps.metrics.wsMessagesDropped.inc();
      if (outcome === 'closed') this.log.warn('closed a WebSocket client that stayed behind (1008)');
      if (outcome !== 'sent') continue;
      this.deps.metrics.wsMessagesSent.inc({ type: event.type });
    }
  }

  private pingAll(): void {
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      if (!c.alive) {
        this.log.debug('closed a WebSocket client that did not answer the previous ping');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** Closes every client with 1001 (going away) and waits for the sockets to go. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.subscription.unsubscribe();
    const closing = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 1000);
          c.ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          c.ws.close(1001, 'daemon shutting down');
        }),
    );
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
