import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { TransportError, ErrorCodes } from '../../core/errors.js';
import type { BrokerConnection, BrokerConnector } from './broker-connection.js';
import { redactBrokerUrl } from './redact.js';

export interface RedisSinkSettings {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly connectTimeoutMs: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
  readonly maxLen: number;
  readonly tls?: { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined; readonly rejectUnauthorized: boolean };
}

/**
 * Redis Streams through ioredis: one XADD per event (field `event`), acknowledged by its reply.
 * ioredis' own retries and offline queue are off; the sink retries.
 */
export function redisConnector(s: RedisSinkSettings): BrokerConnector {
  return async (signal) => {
    const redis = new Redis(s.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: s.connectTimeoutMs,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.tls
        ? {
            tls: {
              rejectUnauthorized: s.tls.rejectUnauthorized,
              ...(s.tls.ca !== undefined ? { ca: readFileSync(s.tls.ca) } : {}),
              ...(s.tls.cert !== undefined ? { cert: readFileSync(s.tls.cert) } : {}),
              ...(s.tls.key !== undefined ? { key: readFileSync(s.tls.key) } : {}),
            },
          }
        : {}),
    });
    // Errors also arrive as events (an AUTH refusal only there, before "Connection is closed");
    // without a listener ioredis prints them.
    let lastError: Error | undefined;
    redis.on('error', (err: Error) => (lastError = err));
    // ioredis' connectTimeout ends at the TCP handshake: a server that accepts and never answers
    // would hold connect() (and the sink's shutdown) forever. The whole handshake gets the budget.
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const handshake = (async () => {
        await redis.connect();
        // AUTH problems surface on the first command, not at connect: fail here, clearly.
        await redis.ping();
      })();
      handshake.catch(() => undefined);
      await Promise.race([
        handshake,
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new Error(`no answer within ${s.connectTimeoutMs} ms`)), s.connectTimeoutMs);
          onAbort = () => fail(new Error('aborted'));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } catch (err) {
      redis.disconnect();
      const reason = lastError && lastError.message !== (err as Error).message ? `${lastError.message} (${(err as Error).message})` : (err as Error).message;
      throw new TransportError(ErrorCodes.TRANSPORT, `Redis ${redactBrokerUrl(s.url)}: ${reason}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) {
      redis.disconnect();
      throw new Error('aborted');
    }
    const lost = new Promise<Error>((resolve) => redis.once('end', () => resolve(new Error('connection closed'))));
    const conn: BrokerConnection = {
      lost,
      publish: async (key, payload) => {
        await redis.xadd(key, 'MAXLEN', '~', String(s.maxLen), '*', 'event', payload);
      },
      close: async () => {
        redis.disconnect();
      },
    };
    return conn;
  };
}
