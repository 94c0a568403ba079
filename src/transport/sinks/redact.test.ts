import { describe, expect, it } from 'vitest';
import { redactBrokerUrl } from './redact.js';

describe('redactBrokerUrl', () => {
  it('hides user info, also when the password holds an @', () => {
    expect(redactBrokerUrl('mqtt://u:p@ss@broker:1883/x')).toBe('mqtt://***@broker:1883/x');
    expect(redactBrokerUrl('nats://s3cr3t-token@nats:4222')).toBe('nats://***@nats:4222');
    expect(redactBrokerUrl('redis://:pw@redis:6379/0')).toBe('redis://***@redis:6379/0');
  });

  it('hides the query, where ioredis takes a password from (redis://host?password=…)', () => {
    const out = redactBrokerUrl('redis://redis:6379/0?password=s3cr3t&db=1');
    expect(out).not.toContain('s3cr3t');
    expect(out.startsWith('redis://redis:6379/0')).toBe(true);
    expect(redactBrokerUrl('rediss://u:p@h:6380?password=s3cr3t#frag')).not.toContain('s3cr3t');
  });

  it('leaves URLs without secrets as they are', () => {
    expect(redactBrokerUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
  });
});
