import { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { ErrorCodes, TransportError } from '../../core/errors.js';

/**
 * A connection's incoming MQTT packets, refused from their fixed header when larger than
 * `maxPacketBytes`: mqtt.js' parser collects a whole packet before it looks at it (a 100 MB
 * command cost 190 MB), and MQTT 3.1.1 cannot tell the broker a limit. The connection is then
 * closed with a VA_ERR_PAYLOAD_TOO_LARGE error, as MQTT 5 prescribes for a packet beyond the
 * client's Maximum Packet Size; no more than one chunk of it is ever held.
 */
export class MqttPacketLimit extends Duplex {
  /** Bytes of the current packet's body still to pass. */
  private body = 0;
  /** Bytes read of the fixed header in progress (type byte, then up to 4 length bytes). */
  private headerBytes = 0;
  private length = 0;

  constructor(
    private readonly inner: Duplex,
    private readonly maxPacketBytes: number,
  ) {
    super();
    inner.on('data', (chunk: Buffer) => this.scan(chunk));
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    this.inner.resume();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    // One write per corked batch: mqtt.js corks each packet, so the socket gets whole packets.
    this.inner.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }

  private scan(chunk: Buffer): void {
    let pos = 0;
    let headerStart = 0;
    while (pos < chunk.length) {
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - pos);
        this.body -= n;
        pos += n;
        continue;
      }
      const byte = chunk[pos++]!;
      if (this.headerBytes++ === 0) {
        headerStart = pos - 1;
        this.length = 0;
        continue;
      }
      // Remaining length: 7 bits a byte, least significant first, at most 4 bytes.
      this.length += (byte & 0x7f) * 128 ** (this.headerBytes - 2);
      if (byte & 0x80) {
        if (this.headerBytes === 5) return this.refuse(chunk, headerStart, new TransportError(ErrorCodes.TRANSPORT, 'MQTT packet with a malformed remaining length'));
        continue;
      }
      const total = this.headerBytes + this.length;
      this.headerBytes = 0;
      if (total > this.maxPacketBytes) {
        return this.refuse(chunk, headerStart, new TransportError(ErrorCodes.PAYLOAD_TOO_LARGE, `MQTT packet of ${total} bytes refused: the limit is ${this.maxPacketBytes}`, { context: { bytes: total, limit: this.maxPacketBytes } }));
      }
      this.body = this.length;
    }
    if (!this.push(chunk)) this.inner.pause();
  }

  /** Passes the whole packets before the refused one, then closes the connection. */
  private refuse(chunk: Buffer, headerStart: number, err: TransportError): void {
    if (headerStart > 0) this.push(chunk.subarray(0, headerStart));
    this.destroy(err);
  }
}

/**
 * Puts the limit between every connection (the first and each reconnect) and the client's parser.
 * mqtt.js offers no public hook there: the client must be made with `manualConnect: true`, and
 * its stream builder is wrapped before `connect()` (pinned mqtt 5; brokers-hostile tests it).
 */
export function connectWithPacketLimit(client: MqttClient, maxPacketBytes: number): MqttClient {
  const internals = client as unknown as { streamBuilder: (c: MqttClient) => object };
  const build = internals.streamBuilder;
  // mqtt.js' own builders return Node duplex streams (net, tls, ws' createWebSocketStream).
  internals.streamBuilder = (c) => new MqttPacketLimit(build(c) as Duplex, maxPacketBytes);
  return client.connect();
}
