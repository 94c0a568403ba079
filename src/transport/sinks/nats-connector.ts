import { connect, type NatsConnection } from 'nats';
import { TransportError, ErrorCodes } from '../../core/errors.js';
import type { BrokerConnection, BrokerConnector } from './broker-connection.js';
import { redactBrokerUrl } from './redact.js';

export interface NatsSinkSettings {
  readonly url: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly connectTimeoutMs: number;
  /** JetStream stream that stores the events (created if absent); null = core NATS, at-most-once. */
  readonly jetstream: { readonly stream: string; readonly subjects: readonly string[]; readonly storage: 'file' | 'memory'; readonly maxAgeMs: number } | null;
  readonly tls?: { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined };
}

/**
 * NATS through nats.js. With JetStream (default) a publish resolves on the stream's PubAck and
 * carries the message id, so a retried message is de-duplicated by the server inside its
 * duplicate window: at-least-once, effectively once on retries.
 */
export function natsConnector(s: NatsSinkSettings): BrokerConnector {
  return async (signal) => {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: s.url.replace(/^nats:\/\/[^@/]*@/, 'nats://'),
        reconnect: false,
        timeout: s.connectTimeoutMs,
        name: 'affect-daemon',
        ...(s.user !== undefined ? { user: s.user } : {}),
        ...(s.pass !== undefined ? { pass: s.pass } : {}),
        ...(s.token !== undefined ? { token: s.token } : {}),
        ...natsTlsOptions(s.tls),
        ...credentialsFromUrl(s.url),
      });
    } catch (err) {
      throw new TransportError(ErrorCodes.TRANSPORT, `NATS ${redactBrokerUrl(s.url)}: ${(err as Error).message}`, { cause: err });
    }
    if (signal.aborted) {
      await nc.close();
      throw new Error('aborted');
    }
    const lost = nc.closed().then((e) => e ?? new Error('connection closed'));
    if (s.jetstream === null) {
      return {
        lost,
        publish: async (subject, payload) => {
          nc.publish(subject, payload);
          await nc.flush();
        },
        close: () => nc.close().catch(() => undefined),
      };
    }
    const js = s.jetstream;
    try {
      const jsm = await nc.jetstreamManager();
      const config = { name: js.stream, subjects: [...js.subjects], storage: js.storage === 'file' ? ('file' as never) : ('memory' as never), max_age: js.maxAgeMs * 1_000_000 };
      try {
        await jsm.streams.info(js.stream);
        await jsm.streams.update(js.stream, { subjects: config.subjects, max_age: config.max_age });
      } catch (err) {
        if (!/not found/i.test((err as Error).message)) throw err;
        await jsm.streams.add(config);
      }
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new TransportError(ErrorCodes.TRANSPORT, `NATS ${redactBrokerUrl(s.url)}: JetStream stream ${js.stream} unusable: ${(err as Error).message}`, { cause: err });
    }
    const client = nc.jetstream();
    return {
      lost,
      publish: async (subject, payload, id) => {
        await client.publish(subject, payload, { msgID: id });
      },
      close: () => nc.close().catch(() => undefined),
    };
  };
}

/** `nats://user:pass@host` or `nats://token@host`: nats.js wants them as options. */
export function credentialsFromUrl(url: string): { user?: string; pass?: string; token?: string } {
  try {
    const u = new URL(url);
    if (u.username && u.password) return { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
    if (u.username) return { token: decodeURIComponent(u.username) };
  } catch {
    // The config check reports unparsable URLs.
  }
  return {};
}

/** nats.js' TLS options from the sink's `tls:`. */
export function natsTlsOptions(tls: NatsSinkSettings['tls']): { tls?: { caFile?: string; certFile?: string; keyFile?: string } } {
  if (!tls) return {};
  return { tls: { ...(tls.ca !== undefined ? { caFile: tls.ca } : {}), ...(tls.cert !== undefined ? { certFile: tls.cert } : {}), ...(tls.key !== undefined ? { keyFile: tls.key } : {}) } };
}
