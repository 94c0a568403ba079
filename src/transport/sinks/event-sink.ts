import type { Observable, Subscription } from 'rxjs';
import { EVENT_SCHEMA_VERSION } from '../../core/event-schemas.js';
import type { AnalyticsEvent, EventType } from '../../core/records.js';
import type { Logger } from '../../observability/logger.js';
import type { BrokerConnection, BrokerConnector } from './broker-connection.js';
import { PendingQueue, type PendingMessage } from './pending-queue.js';
import { formatTopic, type SinkKind } from './topic.js';


export interface EventSinkOptions {
  readonly name: string;
  readonly kind: SinkKind;
  readonly topic: string;
  readonly types?: readonly EventType[];
  readonly streams?: readonly string[];
  /** Messages kept (queued + unacknowledged) while the broker is slow or absent. */
  readonly bufferMessages: number;
  /** Messages handed to the broker before waiting for their acknowledgements. */
  readonly maxInFlight: number;
  /** A publish not acknowledged within this time counts as lost: the connection is dropped and the message retried. */
  readonly ackTimeoutMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** On close, how long to keep delivering what is buffered. */
  readonly flushTimeoutMs: number;
}

export interface SinkHooks {
  onDelivered(count: number): void;
  onDropped(reason: 'overflow' | 'shutdown', count: number): void;
  onState(connected: boolean): void;
}

export interface SinkClock {
  now(): number;
  random(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realClock: SinkClock = {
  now: () => performance.now(),
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface SinkStatus {
  readonly name: string;
  readonly kind: SinkKind;
  readonly connected: boolean;
  readonly buffered: number;
  readonly lagSeconds: number;
  readonly lastError?: string;
}

/**
 * Publishes the daemon's events to one broker. Analysis never waits for it: events go into a
 * bounded queue (the oldest dropped and counted when full) and a single pump delivers them,
 * reconnecting with exponential backoff and full jitter. Unacknowledged messages are retried, so
 * delivery is at-least-once where the broker acknowledges.
 */
export class EventSink {
  private readonly queue: PendingQueue;
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private subscription: Subscription | undefined;
  private wake: (() => void) | undefined;
  private pump: Promise<void> | undefined;
  private connection: BrokerConnection | undefined;
  private seq = 0;
  private readonly idPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  private lastError: string | undefined;
  private closing = false;
  private readonly types: ReadonlySet<string> | undefined;
  private readonly streams: ReadonlySet<string> | undefined;

  constructor(
    private readonly opts: EventSinkOptions,
    private readonly connect: BrokerConnector,
    private readonly hooks: SinkHooks,
    logger: Logger,
    private readonly clock: SinkClock = realClock,
  ) {
    this.queue = new PendingQueue(opts.bufferMessages);
    this.log = logger.child({ component: 'sink', sink: opts.name, kind: opts.kind });
    this.types = opts.types ? new Set(opts.types) : undefined;
    this.streams = opts.streams ? new Set(opts.streams) : undefined;
  }

  /** Subscribes to the events and starts delivering. */
  start(events: Observable<AnalyticsEvent>): void {
    if (this.pump) return;
    this.subscription = events.subscribe((e) => this.offer(e));
    this.pump = this.run();
  }

  /** Hands one event to the sink; never blocks. */
  offer(event: AnalyticsEvent): void {
    if (this.closing) return;
    if (this.types && !this.types.has(event.type)) return;
    if (this.streams && !this.streams.has(event.streamId)) return;
    const message: PendingMessage = {
      id: `${this.idPrefix}-${(this.seq++).toString(36)}`,
      topic: formatTopic(this.opts.topic, this.opts.kind, event),
      // The WebSocket event plus the version of its schema (docs/api/events/): a broker message may be
      // read long after it was written, by a consumer that cannot ask which daemon wrote it.
      payload: JSON.stringify({ schemaVersion: EVENT_SCHEMA_VERSION, ...event }),
      enqueuedAt: this.clock.now(),
    };
    const dropped = this.queue.push(message);
    if (dropped > 0) this.hooks.onDropped('overflow', dropped);
    this.wake?.();
  }

  status(): SinkStatus {
    return {
      name: this.opts.name,
      kind: this.opts.kind,
      connected: this.connection !== undefined,
      buffered: this.queue.size,
      lagSeconds: this.lagSeconds(),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Age of the oldest event not yet acknowledged by the broker (0 when all are). */
  lagSeconds(): number {
    const oldest = this.queue.oldestEnqueuedAt();
    return oldest === undefined ? 0 : Math.max(0, (this.clock.now() - oldest) / 1000);
  }

  /** Stops taking events, delivers what it can within flushTimeoutMs, then disconnects. */
  async close(): Promise<void> {
    if (this.closing) return this.pump;
    this.closing = true;
    this.subscription?.unsubscribe();
    const deadline = this.clock.now() + this.opts.flushTimeoutMs;
    while (this.queue.size > 0 && this.connection && this.clock.now() < deadline) {
      await this.clock.sleep(10, this.abort.signal);
    }
    this.abort.abort();
    this.wake?.();
    await this.pump;
    const left = this.queue.clear();
    if (left > 0) this.hooks.onDropped('shutdown', left);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.connection) {
          this.connection = await this.connect(signal);
          if (signal.aborted) break;
          failures = 0;
          this.lastError = undefined;
          this.hooks.onState(true);
          this.log.info('connected to the broker');
        }
        await this.deliver(this.connection, signal);
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const message = err instanceof Error ? err.message : String(err);
        const wasConnected = this.connection !== undefined;
        await this.dropConnection();
        if (message !== this.lastError || failures === 1) {
          this.log.warn({ err, attempt: failures, buffered: this.queue.size }, wasConnected ? 'broker connection lost' : 'cannot connect to the broker');
        }
        this.lastError = message;
        const bound = Math.min(this.opts.reconnect.maxDelayMs, this.opts.reconnect.initialDelayMs * 2 ** Math.min(failures - 1, 30));
        await this.clock.sleep(this.clock.random() * bound, signal);
      }
    }
    await this.dropConnection();
  }

  /** Delivers until the connection fails (throws) or the sink is closed (returns). */
  private async deliver(conn: BrokerConnection, signal: AbortSignal): Promise<void> {
    const dead = new AbortController();
    void conn.lost.then((e) => {
      dead.abort(e);
      this.wake?.();
    });
    while (!signal.aborted) {
      if (dead.signal.aborted) throw dead.signal.reason as Error;
      if (this.queue.queuedCount === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue.take(this.opts.maxInFlight);
      try {
        await this.acknowledged(Promise.all(batch.map((m) => conn.publish(m.topic, m.payload, m.id))), dead.signal);
      } catch (err) {
        const dropped = this.queue.requeue(batch);
        if (dropped > 0) this.hooks.onDropped('overflow', dropped);
        throw err;
      }
      this.queue.settle(batch);
      this.hooks.onDelivered(batch.length);
    }
  }

  /** Resolves when every publish of a batch was acknowledged; rejects on timeout or a lost connection. */
  private acknowledged(work: Promise<unknown>, dead: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`the broker did not acknowledge within ${this.opts.ackTimeoutMs} ms`)), this.opts.ackTimeoutMs);
      const onDead = (): void => finish(dead.reason as Error);
      dead.addEventListener('abort', onDead, { once: true });
      function finish(err?: Error): void {
        clearTimeout(timer);
        dead.removeEventListener('abort', onDead);
        if (err) reject(err);
        else resolve();
      }
      work.then(() => finish(), (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
  }

  private async dropConnection(): Promise<void> {
    const conn = this.connection;
    if (!conn) return;
    this.connection = undefined;
    this.hooks.onState(false);
    await conn.close().catch(() => undefined);
  }
}
