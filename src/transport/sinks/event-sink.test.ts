import { Writable } from 'node:stream';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION } from '../../core/event-schemas.js';
import { asStreamId } from '../../core/ids.js';
import type { AnalyticsEvent } from '../../core/records.js';
import { createLogger } from '../../observability/logger.js';
import type { BrokerConnection, BrokerConnector } from './broker-connection.js';
import { EventSink, type EventSinkOptions } from './event-sink.js';

/** A broker at the connector seam: connections can be refused, lost, or made to stall. */
class FakeBroker {
  readonly stored: { topic: string; payload: string; id: string }[] = [];
  refuse = false;
  stall = false;
  connections = 0;
  private lose: ((e: Error) => void) | undefined;

  connector: BrokerConnector = async () => {
    if (this.refuse) throw new Error('connection refused');
    this.connections++;
    const lost = new Promise<Error>((r) => (this.lose = r));
    const conn: BrokerConnection = {
      lost,
      publish: (topic, payload, id) => (this.stall ? new Promise<void>(() => undefined) : (this.stored.push({ topic, payload, id }), Promise.resolve())),
      close: async () => undefined,
    };
    return conn;
  };

  drop(): void {
    this.lose?.(new Error('connection reset'));
  }
}

const event = (frame: number, stream = 'cam', type: 'faces' | 'track' = 'faces'): AnalyticsEvent => {
  const streamId = asStreamId(stream);
  return type === 'faces'
    ? { type, streamId, frame, pts: frame, ts: 't', width: 1, height: 1, faces: [] }
    : { type, streamId, trackId: 1, state: 'started', frame, ts: 't' };
};

const options = (o: Partial<EventSinkOptions> = {}): EventSinkOptions => ({
  name: 's',
  kind: 'mqtt',
  topic: 'affect/{stream}/{type}',
  bufferMessages: 100,
  maxInFlight: 4,
  ackTimeoutMs: 200,
  reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
  flushTimeoutMs: 500,
  ...o,
});

const sinks: EventSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
});

function makeSink(broker: FakeBroker, o: Partial<EventSinkOptions> = {}) {
  const counts = { delivered: 0, overflow: 0, shutdown: 0 };
  const sink = new EventSink(options(o), broker.connector, {
    onDelivered: (n) => (counts.delivered += n),
    onDropped: (reason, n) => (counts[reason] += n),
    onState: () => undefined,
  }, createLogger('silent'));
  sinks.push(sink);
  return { sink, counts };
}

const settle = async (pred: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).toBe(true);
};

describe('EventSink', () => {
  it('publishes the WebSocket JSON with a schema version, on the templated topic, filtered', async () => {
    const broker = new FakeBroker();
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker, { types: ['faces'], streams: ['cam'] });
    sink.start(events);
    events.next(event(1));
    events.next(event(2, 'other'));
    events.next(event(3, 'cam', 'track'));
    await settle(() => counts.delivered === 1);
    expect(broker.stored).toEqual([{ topic: 'affect/cam/faces', payload: JSON.stringify({ schemaVersion: EVENT_SCHEMA_VERSION, ...event(1) }), id: expect.any(String) }]);
  });

  it('keeps events while the broker is away and delivers them, in order, once it is back', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker);
    sink.start(events);
    for (let i = 0; i < 10; i++) events.next(event(i));
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.status()).toMatchObject({ connected: false, buffered: 10, lastError: 'connection refused' });
    expect(sink.lagSeconds()).toBeGreaterThan(0);
    broker.refuse = false;
    await settle(() => counts.delivered === 10);
    expect(broker.stored.map((m) => JSON.parse(m.payload).frame)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sink.lagSeconds()).toBe(0);
  });

  it('retries what a lost connection left unacknowledged (at-least-once) with the same message ids', async () => {
    const broker = new FakeBroker();
    broker.stall = true;
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker, { ackTimeoutMs: 10_000 });
    sink.start(events);
    for (let i = 0; i < 3; i++) events.next(event(i));
    await new Promise((r) => setTimeout(r, 20));
    broker.stall = false;
    broker.drop();
    await settle(() => counts.delivered === 3);
    expect(broker.connections).toBe(2);
    expect(broker.stored.map((m) => JSON.parse(m.payload).frame)).toEqual([0, 1, 2]);
  });

  it('treats a publish the broker never acknowledges as lost after ackTimeoutMs', async () => {
    const broker = new FakeBroker();
    broker.stall = true;
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker, { ackTimeoutMs: 30 });
    sink.start(events);
    events.next(event(1));
    await settle(() => sink.status().lastError?.includes('did not acknowledge') === true);
    broker.stall = false;
    await settle(() => counts.delivered === 1);
  });

  it('never blocks the producer: beyond the bound the oldest go, counted', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker, { bufferMessages: 5 });
    sink.start(events);
    for (let i = 0; i < 100; i++) events.next(event(i));
    expect(counts.overflow).toBe(95);
    broker.refuse = false;
    await settle(() => counts.delivered === 5);
    expect(broker.stored.map((m) => JSON.parse(m.payload).frame)).toEqual([95, 96, 97, 98, 99]);
  });

  it('logs a broker failure under err, with its code, stack and cause (pino serializer), not as a bare message', async () => {
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883', { cause: new Error('socket closed by peer') }), { code: 'ECONNREFUSED' });
    const sink = new EventSink(options(), async () => { throw refused; }, { onDelivered: () => undefined, onDropped: () => undefined, onState: () => undefined }, createLogger('info', out));
    sinks.push(sink);
    sink.start(new Subject<AnalyticsEvent>());
    await settle(() => lines.some((l) => l.msg === 'cannot connect to the broker'));
    const line = lines.find((l) => l.msg === 'cannot connect to the broker')!;
    expect(line.err).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1883', code: 'ECONNREFUSED', cause: { message: 'socket closed by peer' } });
    expect((line.err as { stack: string }).stack).toContain('event-sink.test.ts');
    expect(line).not.toHaveProperty('error');
  });

  it('on close delivers what it can, then counts the rest as dropped at shutdown', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const events = new Subject<AnalyticsEvent>();
    const { sink, counts } = makeSink(broker, { flushTimeoutMs: 20 });
    sink.start(events);
    for (let i = 0; i < 7; i++) events.next(event(i));
    await sink.close();
    expect(counts).toEqual({ delivered: 0, overflow: 0, shutdown: 7 });
    events.next(event(8));
    expect(sink.status().buffered).toBe(0);
  });
});
