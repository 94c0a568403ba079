/**
 * `daemon bench sink`: events/s each broker sink sustains on this machine. Starts Debian's
 * mosquitto, nats-server (JetStream, file storage) and redis-server on free loopback ports, then
 * pushes affect events shaped like the daemon's through the real EventSink (buffer, in-flight
 * window, acknowledgements) and times until the broker acknowledged every one.
 */
import { Subject } from 'rxjs';
import { sinksSchema, type SinkConfig } from '../../config/sink-schema.js';
import { AU_LABELS, EXPR_LABELS, labelled } from '../../core/affect-labels.js';
import { EVENT_SCHEMA_VERSION } from '../../core/event-schemas.js';
import type { AffectEvent, AnalyticsEvent } from '../../core/records.js';
import { createLogger } from '../../observability/logger.js';
import { connectorFor } from '../../transport/sinks/build-sinks.js';
import { EventSink } from '../../transport/sinks/event-sink.js';
import { brokerAvailable, startMosquitto, startNats, startRedis, type Broker } from '../harness/local-brokers.js';

export interface SinkBenchRow {
  readonly kind: 'mqtt' | 'nats' | 'redis';
  readonly delivery: string;
  readonly maxInFlight: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly bytesPerEvent: number;
}


function affectEvent(i: number): AffectEvent {
  return {
    type: 'affect',
    streamId: `cam${i % 4}`,
    trackId: i % 3,
    frame: i,
    pts: i * 40_000,
    ts: new Date().toISOString(),
    au: { probs: labelled(AU_LABELS, (_, k) => ((i + k) % 10) / 10), active: labelled(AU_LABELS, (_, k) => (i + k) % 2 === 0) },
    expr: { probs: labelled(EXPR_LABELS, (_, k) => (k === i % 7 ? 0.7 : 0.05)), label: EXPR_LABELS[i % 7] ?? 'Neutral', entropy: 0.57, margin: 0.65 },
    va: { valence: Math.sin(i / 50), arousal: Math.cos(i / 50) },
    model: { id: 'bench', version: '1' },
    latencyMs: 120,
  };
}

async function measure(config: SinkConfig, events: number): Promise<{ seconds: number; bytes: number }> {
  const subject = new Subject<AnalyticsEvent>();
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sink = new EventSink(
    { name: config.name, kind: config.kind, topic: config.topic ?? (config.kind === 'mqtt' ? 'affect/{stream}/{type}' : config.kind === 'nats' ? 'affect.{stream}.{type}' : 'affect:{stream}'), bufferMessages: events, maxInFlight: config.maxInFlight, ackTimeoutMs: 30_000, reconnect: config.reconnect, flushTimeoutMs: 0 },
    connectorFor(config),
    {
      onDelivered: (n) => {
        delivered += n;
        if (delivered >= events) done();
      },
      onDropped: () => undefined,
      onState: () => undefined,
    },
    createLogger('warn'),
  );
  sink.start(subject);
  // Connect and warm up before timing.
  subject.next(affectEvent(-1));
  while (delivered < 1) await new Promise((r) => setTimeout(r, 5));
  delivered = 0;
  const batch = Array.from({ length: events }, (_, i) => affectEvent(i));
  const bytes = JSON.stringify({ schemaVersion: EVENT_SCHEMA_VERSION, ...batch[0] }).length;
  const t0 = performance.now();
  for (const e of batch) subject.next(e);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await sink.close();
  return { seconds, bytes };
}

export async function benchSink(opts: { readonly events: number; readonly kinds: readonly ('mqtt' | 'nats' | 'redis')[]; readonly inFlight: readonly number[]; readonly json: boolean }): Promise<SinkBenchRow[]> {
  const rows: SinkBenchRow[] = [];
  const starters = { mqtt: startMosquitto, nats: () => startNats(), redis: () => startRedis() };
  const bins = { mqtt: 'mosquitto', nats: 'nats', redis: 'redis' } as const;
  for (const kind of opts.kinds) {
    if (!brokerAvailable(bins[kind])) {
      if (!opts.json) console.log(`${kind}: broker binary not installed (apt-get install mosquitto nats-server redis-server); skipped`);
      continue;
    }
    const broker: Broker = await starters[kind]();
    try {
      for (const maxInFlight of opts.inFlight) {
        const variants: { delivery: string; config: unknown }[] =
          kind === 'mqtt'
            ? [{ delivery: 'QoS 1 (PUBACK)', config: { kind, name: 'bench', url: broker.url, qos: 1, maxInFlight } }]
            : kind === 'nats'
              ? [{ delivery: 'JetStream file store (PubAck)', config: { kind, name: 'bench', url: broker.url, maxInFlight, topic: `bench${maxInFlight}.{stream}.{type}`, jetstream: { stream: `BENCH${maxInFlight}`, storage: 'file' } } }]
              : [{ delivery: 'XADD (reply; AOF fsync always)', config: { kind, name: 'bench', url: broker.url, maxInFlight } }];
        for (const v of variants) {
          const [config] = sinksSchema.parse([v.config]);
          if (!config) continue;
          const { seconds, bytes } = await measure(config, opts.events);
          const row: SinkBenchRow = { kind, delivery: v.delivery, maxInFlight, events: opts.events, seconds, eventsPerSecond: opts.events / seconds, bytesPerEvent: bytes };
          rows.push(row);
          if (!opts.json) console.log(`${kind.padEnd(6)} ${v.delivery.padEnd(32)} in-flight ${String(maxInFlight).padStart(4)}: ${row.eventsPerSecond.toFixed(0).padStart(7)} events/s (${opts.events} affect events of ${bytes} B in ${seconds.toFixed(2)} s)`);
        }
      }
    } finally {
      await broker.close();
    }
  }
  if (opts.json) console.log(JSON.stringify({ rows }, null, 2));
  return rows;
}
