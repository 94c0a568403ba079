import mqtt from 'mqtt';
import { connect as natsConnect, Events, type NatsConnection } from 'nats';
import type { SinkConfig } from '../../config/sink-schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import { REFUSAL_REASONS, refusalReason, type RefusalReason } from '../control-refusals.js';
import { refusedReply, runStreamCommand } from '../stream-commands.js';
import type { StreamApi } from '../stream-api.js';
import { mqttTlsOptions } from './mqtt-connector.js';
import { connectWithPacketLimit } from './mqtt-packet-limit.js';
import { credentialsFromUrl, natsTlsOptions } from './nats-connector.js';
import { redactBrokerUrl } from './redact.js';

/** Commands waiting or running at once; beyond it a command is refused at once (429), not queued. */
export const MAX_PENDING_COMMANDS = 16;
/** Bytes of an MQTT control packet beyond its command: fixed header, packet id, MQTT 5 properties. */
const CONTROL_PACKET_OVERHEAD = 4096;
/** At shutdown, how long a connected NATS control connection may take to send its last replies. */
const CONTROL_DRAIN_TIMEOUT_MS = 500;

export interface ControlListener {
  close(): Promise<void>;
}

/**
 * Stream control through a broker: commands (`{op: add|remove|restart|list, …}`) arrive on the
 * sink's control topic and are run with the HTTP API's checks and limits; each gets a reply (MQTT:
 * on `<topic>/reply`; NATS: to the request's reply subject, else `<topic>.reply`). Commands run one
 * at a time in arrival order. Whoever may publish on the topic controls the streams: protect it
 * with the broker's own authentication and ACLs.
 */
export async function startControlListener(
  sink: SinkConfig,
  supervisor: StreamApi,
  deps: {
    readonly logger: Logger;
    readonly maxBytes: number;
    readonly signal: AbortSignal;
    readonly instance?: string;
    /** Counts refused commands (va_control_commands_refused_total{source: the sink's kind}). */
    readonly metrics?: Pick<Metrics, 'controlCommandsRefused'>;
  },
): Promise<ControlListener | undefined> {
  if (sink.kind === 'redis' || !sink.control) return undefined;
  const log = deps.logger.child({ component: 'control', sink: sink.name, kind: sink.kind });
  // {instance} addresses one daemon of a cluster (all read one config).
  const topic = sink.control.topic.replaceAll('{instance}', sink.kind === 'nats' ? (deps.instance ?? '').replaceAll('.', '_') : (deps.instance ?? ''));
  let chain: Promise<void> = Promise.resolve();
  // A flood on the topic must neither grow memory without bound nor run long after it: commands
  // beyond the backlog are refused, and those still waiting when the listener closes are dropped.
  let pending = 0;
  let closed = false;
  const source = sink.kind;
  for (const reason of REFUSAL_REASONS) deps.metrics?.controlCommandsRefused.inc({ source, reason }, 0);
  const refused = (reason: RefusalReason): void => deps.metrics?.controlCommandsRefused.inc({ source, reason });
  const send = (reply: (text: string) => void, result: object): void => {
    try {
      reply(JSON.stringify(result));
    } catch (err) {
      log.warn({ err }, 'could not reply to a control command');
    }
  };
  const handle = (bytes: Uint8Array, reply: (text: string) => void): void => {
    if (closed) return;
    // Refused before the backlog: a flood of large commands neither holds their bytes while they
    // wait nor takes the places of commands that can run.
    if (bytes.byteLength > deps.maxBytes) {
      refused('too-large');
      send(reply, refusedReply(new AnalyticsError(ErrorCodes.PAYLOAD_TOO_LARGE, `command larger than ${deps.maxBytes} bytes`)));
      return;
    }
    if (pending >= MAX_PENDING_COMMANDS) {
      refused('limit');
      send(reply, refusedReply(new AnalyticsError(ErrorCodes.LIMIT, `more than ${MAX_PENDING_COMMANDS} control commands waiting; try again later`)));
      return;
    }
    pending++;
    chain = chain.then(async () => {
      try {
        if (closed) return;
        const result = await runStreamCommand(supervisor, bytes, deps.maxBytes);
        log.info({ status: result.status, requestId: result.requestId, code: result.error?.code }, 'control command');
        const reason = result.error ? refusalReason(result.error.code, result.error.field) : undefined;
        if (reason !== undefined) refused(reason);
        send(reply, result);
      } finally {
        pending--;
      }
    });
  };
  const stop = (): void => void (closed = true);
  if (sink.kind === 'mqtt') {
    // A command's bytes, our topic and room for the fixed header, packet id and MQTT 5 properties:
    // a command a little too long still gets its 413, a far larger one never enters memory.
    const maxPacketBytes = deps.maxBytes + Buffer.byteLength(topic) + CONTROL_PACKET_OVERHEAD;
    const client = mqtt.connect(sink.url, {
      protocolVersion: sink.protocolVersion,
      // MQTT 5: the broker must not send us more (mosquitto drops such a message for this client).
      ...(sink.protocolVersion === 5 ? { properties: { maximumPacketSize: maxPacketBytes } } : {}),
      manualConnect: true,
      reconnectPeriod: 1000,
      connectTimeout: sink.connectTimeoutMs,
      ...(sink.username !== undefined ? { username: sink.username } : {}),
      ...(sink.password !== undefined ? { password: sink.password } : {}),
      ...(sink.clientId !== undefined ? { clientId: `${sink.clientId}-control` } : {}),
      // The sink's own TLS settings: a private CA or client certificate applies to both connections.
      ...mqttTlsOptions(sink.tls),
    });
    connectWithPacketLimit(client, maxPacketBytes);
    client.on('error', (err: Error & { code?: unknown }) => {
      log.warn({ err, url: redactBrokerUrl(sink.url) }, 'control connection error');
    });
    client.on('connect', () => void client.subscribeAsync(topic, { qos: 1 }).catch((err: Error) => log.warn({ err }, 'cannot subscribe to the control topic')));
    client.on('message', (t, payload) => {
      if (t !== topic) return;
      handle(payload, (text) => client.publish(`${topic}/reply`, text, { qos: 1 }));
    });
    return { close: () => (stop(), client.endAsync(true).then(() => chain)) };
  }
  // nats.js reconnects once connected; the first connection is retried here, until aborted.
  let nc: NatsConnection | undefined;
  for (let attempt = 0; !nc; attempt++) {
    if (deps.signal.aborted) return undefined;
    try {
      nc = await untilAborted(natsConnect({
        servers: sink.url.replace(/^nats:\/\/[^@/]*@/, 'nats://'),
        reconnect: true,
        maxReconnectAttempts: -1,
        timeout: sink.connectTimeoutMs,
        ...(sink.user !== undefined ? { user: sink.user } : {}),
        ...(sink.pass !== undefined ? { pass: sink.pass } : {}),
        ...(sink.token !== undefined ? { token: sink.token } : {}),
        ...natsTlsOptions(sink.tls),
        // Credentials in the URL, as the sink's connection takes them.
        ...credentialsFromUrl(sink.url),
      }), deps.signal);
    } catch (err) {
      if (deps.signal.aborted) return undefined;
      if (attempt === 0) log.warn({ err, url: redactBrokerUrl(sink.url) }, 'control connection failed; retrying');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(sink.reconnect.maxDelayMs, sink.reconnect.initialDelayMs * 2 ** Math.min(attempt, 10)));
        deps.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
  if (deps.signal.aborted) {
    await nc.close();
    return undefined;
  }
  const conn = nc;
  let connected = true;
  void (async () => {
    for await (const s of conn.status()) {
      if (s.type === Events.Disconnect) connected = false;
      else if (s.type === Events.Reconnect) connected = true;
    }
  })().catch(() => undefined);
  conn.subscribe(topic, {
    callback: (err, msg) => {
      if (err) return log.warn({ err }, 'control subscription error');
      handle(msg.data, (text) => (msg.reply ? msg.respond(text) : conn.publish(`${topic}.reply`, text)));
    },
  });
  return {
    close: async () => {
      stop();
      await chain;
      // Connected, a drain sends the replies still queued; a broker that is gone cannot take them,
      // and a drain then waited for a reconnect (3.3 s and more) while the streams ran on.
      if (connected) await untilTimeout(conn.drain(), CONTROL_DRAIN_TIMEOUT_MS);
      await conn.close().catch(() => undefined);
    },
  };
}

/** `p`, or a rejection once `signal` aborts; a connection that arrives after that is closed. */
function untilAborted(p: Promise<NatsConnection>, signal: AbortSignal): Promise<NatsConnection> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (c) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) void c.close().catch(() => undefined);
        else resolve(c);
      },
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}

async function untilTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
