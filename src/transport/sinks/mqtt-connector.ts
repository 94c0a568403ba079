import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { TransportError, ErrorCodes } from '../../core/errors.js';
import type { BrokerConnection, BrokerConnector } from './broker-connection.js';
import { connectWithPacketLimit } from './mqtt-packet-limit.js';
import { redactBrokerUrl } from './redact.js';

/** A publishing connection only receives acknowledgements: a broker's larger packet is refused unread. */
const SINK_MAX_PACKET_BYTES = 64 * 1024;

export interface MqttSinkSettings {
  readonly url: string;
  readonly qos: 0 | 1 | 2;
  readonly protocolVersion: 4 | 5;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly connectTimeoutMs: number;
  readonly tls?: { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined; readonly rejectUnauthorized: boolean };
}

/**
 * MQTT 3.1.1 / 5 through mqtt.js. The client's own reconnect and offline queue are off: the sink
 * owns buffering and retries, so nothing is queued twice or silently. QoS 1 (default) resolves a
 * publish on PUBACK: at-least-once.
 */
export function mqttConnector(s: MqttSinkSettings): BrokerConnector {
  return (signal) =>
    new Promise<BrokerConnection>((resolve, reject) => {
      const client = mqtt.connect(s.url, {
        protocolVersion: s.protocolVersion,
        ...(s.protocolVersion === 5 ? { properties: { maximumPacketSize: SINK_MAX_PACKET_BYTES } } : {}),
        manualConnect: true,
        reconnectPeriod: 0,
        connectTimeout: s.connectTimeoutMs,
        queueQoSZero: false,
        clean: true,
        ...(s.clientId !== undefined ? { clientId: s.clientId } : {}),
        ...(s.username !== undefined ? { username: s.username } : {}),
        ...(s.password !== undefined ? { password: s.password } : {}),
        ...mqttTlsOptions(s.tls),
      });
      connectWithPacketLimit(client, SINK_MAX_PACKET_BYTES);
      let settled = false;
      let resolveLost!: (e: Error) => void;
      const lost = new Promise<Error>((r) => (resolveLost = r));
      const fail = (err: Error): void => {
        if (!settled) {
          settled = true;
          client.end(true);
          reject(new TransportError(ErrorCodes.TRANSPORT, `MQTT ${redactBrokerUrl(s.url)}: ${err.message}`, { cause: err }));
        } else resolveLost(err);
      };
      const onAbort = (): void => fail(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      client.on('error', (err) => fail(err));
      client.on('close', () => fail(new Error('connection closed')));
      client.on('connect', () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve({
          lost,
          publish: async (topic, payload) => {
            await client.publishAsync(topic, payload, { qos: s.qos });
          },
          close: () => new Promise<void>((r) => client.end(true, {}, () => r())),
        });
      });
    });
}

/** mqtt.js' TLS options from the sink's `tls:` (PEM files read now). */
export function mqttTlsOptions(tls: MqttSinkSettings['tls']): { rejectUnauthorized?: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!tls) return {};
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca !== undefined ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert !== undefined ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key !== undefined ? { key: readFileSync(tls.key) } : {}),
  };
}
