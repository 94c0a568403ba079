import { describe, expect, it } from 'vitest';
import { sinksSchema } from './sink-schema.js';
import { formatTopic } from '../transport/sinks/topic.js';

const problems = (input: unknown): string[] => {
  const r = sinksSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('sink config', () => {
  it('accepts each broker kind with defaults that give at-least-once delivery', () => {
    const [mq, nats, redis] = sinksSchema.parse([
      { kind: 'mqtt', name: 'a', url: 'mqtt://127.0.0.1:1883' },
      { kind: 'nats', name: 'b', url: 'nats://127.0.0.1:4222' },
      { kind: 'redis', name: 'c', url: 'redis://127.0.0.1:6379' },
    ]);
    expect(mq).toMatchObject({ qos: 1, bufferMessages: 10_000 });
    expect(nats).toMatchObject({ jetstream: { stream: 'AFFECT', storage: 'file' } });
    expect(redis).toMatchObject({ maxLen: 100_000 });
  });

  it('lists every problem: wrong scheme, unparsable URL, bad topic, duplicate names, unknown keys', () => {
    const p = problems([
      { kind: 'mqtt', name: 'a', url: 'http://x' },
      { kind: 'nats', name: 'a', url: 'nats://[::1', topic: 'affect.>.{stream}' },
      { kind: 'redis', name: 'c', url: 'redis://h', qos: 1 },
      { kind: 'mqtt', name: 'd', url: 'mqtt://h', topic: 'a/#/{stream}' },
    ]);
    expect(p.join('\n')).toMatch(/0\.url: scheme http: is not one of/);
    expect(p.join('\n')).toMatch(/1\.url: not a URL/);
    expect(p.join('\n')).toMatch(/1\.name: duplicate sink name a/);
    expect(p.join('\n')).toMatch(/2: Unrecognized key.*qos|qos/);
    expect(p.join('\n')).toMatch(/3\.topic: MQTT topics/);
  });

  it('fills topics per broker; a dot in a stream id does not split a NATS subject', () => {
    expect(formatTopic('affect/{stream}/{type}', 'mqtt', { streamId: 'cam.1', type: 'affect' })).toBe('affect/cam.1/affect');
    expect(formatTopic('affect.{stream}.{type}', 'nats', { streamId: 'cam.1', type: 'affect' })).toBe('affect.cam_1.affect');
  });

  it('refuses a NATS topic whose placeholders share a token when JetStream subjects are derived from it', () => {
    // `cam-{stream}.{type}` would make the JetStream subject `cam-*.*`, a literal token to NATS: every publish failed (503).
    expect(problems([{ kind: 'nats', name: 'n', url: 'nats://h', topic: 'cam-{stream}.{type}' }]).join('\n')).toMatch(/0\.topic: .*whole token/);
    expect(problems([{ kind: 'nats', name: 'n', url: 'nats://h', topic: 'cam-{stream}.{type}', jetstream: { subjects: ['>'] } }])).toEqual([]);
    expect(problems([{ kind: 'nats', name: 'n', url: 'nats://h', topic: 'cam-{stream}.{type}', jetstream: null }])).toEqual([]);
  });
});
