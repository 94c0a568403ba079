import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MqttPacketLimit } from './mqtt-packet-limit.js';

/** A PUBLISH-like packet: type byte, remaining length (1–4 bytes), then `body` bytes. */
function packet(body: number): Buffer {
  const len: number[] = [];
  let n = body;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(body, 0x61)]);
}

function through(limit: number): { inner: PassThrough; out: Buffer[]; errors: Error[]; guard: MqttPacketLimit } {
  const inner = new PassThrough();
  const guard = new MqttPacketLimit(inner, limit);
  const out: Buffer[] = [];
  const errors: Error[] = [];
  guard.on('data', (c: Buffer) => out.push(c));
  guard.on('error', (e) => errors.push(e));
  return { inner, out, errors, guard };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MqttPacketLimit', () => {
  it('passes packets up to the limit unchanged, whatever the chunking', async () => {
    const stream = Buffer.concat([packet(0), packet(200), packet(20_000), packet(100)]);
    const { inner, out, errors } = through(20_000 + 3 + 1);
    // One byte at a time splits every header and body.
    for (const b of stream) inner.write(Buffer.from([b]));
    await settle();
    expect(errors).toEqual([]);
    expect(Buffer.concat(out).equals(stream)).toBe(true);
  });

  it('refuses a packet from its header: what came before passes, the connection closes', async () => {
    const small = packet(10);
    const big = packet(300_000);
    const { inner, out, errors, guard } = through(1000);
    inner.write(Buffer.concat([small, big.subarray(0, 100)]));
    await settle();
    expect(Buffer.concat(out).equals(small)).toBe(true);
    expect(errors.map((e) => (e as Error & { code: string }).code)).toEqual(['VA_ERR_PAYLOAD_TOO_LARGE']);
    expect(guard.destroyed && inner.destroyed).toBe(true);
  });

  it('refuses a header split across chunks, and a remaining length longer than 4 bytes', async () => {
    const big = packet(2_000_000);
    const a = through(1000);
    a.inner.write(big.subarray(0, 2));
    a.inner.write(big.subarray(2, 10));
    await settle();
    // The header's first chunk had passed before its length was known; nothing of the body does.
    expect(Buffer.concat(a.out).equals(big.subarray(0, 2))).toBe(true);
    expect(a.errors).toHaveLength(1);
    const b = through(1 << 30);
    b.inner.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await settle();
    expect(b.errors.map((e) => e.message)).toEqual(['MQTT packet with a malformed remaining length']);
  });

  it('writes go to the connection untouched', async () => {
    const { inner, guard } = through(10);
    const seen: Buffer[] = [];
    inner.on('data', () => undefined);
    const orig = inner.write.bind(inner);
    inner.write = ((c: Buffer, cb?: () => void) => (seen.push(c), orig(c, cb))) as typeof inner.write;
    guard.write(packet(50));
    await settle();
    expect(Buffer.concat(seen).equals(packet(50))).toBe(true);
  });
});
