import type { Observable } from 'rxjs';
import { DEFAULT_TOPICS, type SinkConfig } from '../../config/sink-schema.js';
import type { AnalyticsEvent } from '../../core/records.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BrokerConnector } from './broker-connection.js';
import { EventSink } from './event-sink.js';
import { mqttConnector } from './mqtt-connector.js';
import { natsConnector } from './nats-connector.js';
import { redisConnector } from './redis-connector.js';

/** The connector for one configured sink. */
export function connectorFor(s: SinkConfig): BrokerConnector {
  const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]?: V }));
  switch (s.kind) {
    case 'mqtt':
      return mqttConnector({
        url: s.url,
        qos: s.qos,
        protocolVersion: s.protocolVersion,
        connectTimeoutMs: s.connectTimeoutMs,
        ...opt('clientId', s.clientId),
        ...opt('username', s.username),
        ...opt('password', s.password),
        ...opt('tls', s.tls),
      });
    case 'nats': {
      const template = s.topic ?? DEFAULT_TOPICS.nats;
      return natsConnector({
        url: s.url,
        connectTimeoutMs: s.connectTimeoutMs,
        jetstream:
          s.jetstream === null
            ? null
            : { stream: s.jetstream.stream, storage: s.jetstream.storage, maxAgeMs: s.jetstream.maxAgeMs, subjects: s.jetstream.subjects ?? [template.replaceAll('{stream}', '*').replaceAll('{type}', '*')] },
        ...opt('user', s.user),
        ...opt('pass', s.pass),
        ...opt('token', s.token),
        ...opt('tls', s.tls),
      });
    }
    case 'redis':
      return redisConnector({
        url: s.url,
        connectTimeoutMs: s.connectTimeoutMs,
        maxLen: s.maxLen,
        ...opt('username', s.username),
        ...opt('password', s.password),
        ...opt('tls', s.tls),
      });
  }
}

/** One EventSink per configured broker, counting into the daemon's metrics; started on `events`. */
export function startSinks(configs: readonly SinkConfig[], events: Observable<AnalyticsEvent>, deps: { readonly metrics: Metrics; readonly logger: Logger }): EventSink[] {
  return configs.map((s) => {
    const labels = { sink: s.name, kind: s.kind };
    const sink = new EventSink(
      {
        name: s.name,
        kind: s.kind,
        topic: s.topic ?? DEFAULT_TOPICS[s.kind],
        ...(s.types ? { types: s.types } : {}),
        ...(s.streams ? { streams: s.streams } : {}),
        bufferMessages: s.bufferMessages,
        maxInFlight: s.maxInFlight,
        ackTimeoutMs: s.ackTimeoutMs,
        reconnect: s.reconnect,
        flushTimeoutMs: s.flushTimeoutMs,
      },
      connectorFor(s),
      {
        onDelivered: (n) => deps.metrics.sinkMessages.inc(labels, n),
        onDropped: (reason, n) => deps.metrics.sinkDropped.inc({ ...labels, reason }, n),
        onState: () => undefined,
      },
      deps.logger,
    );
    // Series exist from the start, so a dashboard shows 0 rather than nothing.
    deps.metrics.sinkMessages.inc(labels, 0);
    deps.metrics.sinkDropped.inc({ ...labels, reason: 'overflow' }, 0);
    sink.start(events);
    return sink;
  });
}
