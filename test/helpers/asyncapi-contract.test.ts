// The broker-address check (asyncapi-contract.ts) can fail: a message on another topic than the
// committed AsyncAPI channel of its kind gives, or of a type the channel does not name, is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { brokerAddressProblem, recordIfMisaddressed } from './asyncapi-contract.js';
import { takeContractViolations } from './contract-violations.js';

const event = (type: string, streamId = 'cam.1'): string => JSON.stringify({ schemaVersion: 2, type, streamId, state: 'running', ts: '2026-12-07T21:00:00.000Z' });

afterEach(() => {
  takeContractViolations();
});

describe('broker addresses against docs/api/asyncapi.json', () => {
  it('accepts the default topics of each kind (NATS with . in the stream id as _)', () => {
    expect(brokerAddressProblem('mqtt', 'affect/cam.1/stream', event('stream'))).toBeUndefined();
    expect(brokerAddressProblem('nats', 'affect.cam_1.stream', event('stream'))).toBeUndefined();
    expect(brokerAddressProblem('redis', 'affect:cam.1', event('stream'))).toBeUndefined();
  });

  it('refuses another topic, an unknown type, and a message that is not an event', () => {
    expect(brokerAddressProblem('mqtt', 'affect/stream/cam.1', event('stream'))).toMatch(/puts this stream event of cam\.1 on affect\/cam\.1\/stream/);
    expect(brokerAddressProblem('nats', 'affect.cam.1.stream', event('stream'))).toMatch(/on affect\.cam_1\.stream/);
    expect(brokerAddressProblem('redis', 'affect:cam.1', event('gaze'))).toMatch(/no message gazeEvent/);
    expect(brokerAddressProblem('mqtt', 'affect/x/y', '{')).toMatch(/not JSON/);
    recordIfMisaddressed('redis', 'events:cam.1', event('stream'));
    expect(takeContractViolations()).toEqual([expect.stringMatching(/redisEvents \(affect:\{stream\}\) puts this stream event of cam\.1 on affect:cam\.1/)]);
  });
});
