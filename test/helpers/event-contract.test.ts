// The validator the integration tests run every received event through (event-contract.ts) can
// fail: a planted wrong field is refused with the event type, the path and the keyword, and the
// hooks the shared helpers carry (EventClient, startDaemon's event bus) record what they refuse.
import type { AddressInfo } from 'node:net';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { EVENT_SCHEMA_VERSION } from '../../src/core/event-schemas.js';
import type { AnalyticsEvent } from '../../src/core/records.js';
import { EventClient } from './daemon.js';
import { EventContractError, checkEvent, checkEventText, takeContractViolations, watchEvents } from './event-contract.js';

const faces = {
  type: 'faces',
  streamId: 'cam',
  frame: 3,
  pts: 0.1001,
  ts: '2026-12-07T21:00:00.000Z',
  width: 640,
  height: 360,
  faces: [
    {
      trackId: 1,
      box: [301.2, 55, 67.4, 78.1],
      score: 0.998,
      landmarks: [[320.1, 79.3], [348, 82.2], [331.5, 96], [318.4, 110.2], [342.9, 112.5]],
      quality: { score: 0.998, interocularPx: 27.9, sharpness: 152.3, pose: { yaw: 2.1, pitch: -4.3, roll: 5.9 }, eyes: { left: 0.27, right: 0.26, closure: 0.08, perclos: 0, blinkRate: 12 }, gated: [] },
    },
  ],
};

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EventContractError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

afterEach(() => {
  // The cases below plant violations on purpose; none may reach the suite-wide check.
  takeContractViolations();
});

describe('event contract (the committed JSON Schemas, through ajv)', () => {
  it('accepts a well-formed event on the WebSocket and, with schemaVersion, on a broker', () => {
    expect(checkEvent(faces, 'websocket').type).toBe('faces');
    expect(checkEvent({ schemaVersion: EVENT_SCHEMA_VERSION, ...faces }, 'broker').type).toBe('faces');
  });

  it('refuses a planted wrong field, naming the event type, the path and the keyword', () => {
    const wrongScore = { ...faces, faces: [{ ...faces.faces[0]!, score: 1.5 }] };
    expect(refusal(() => checkEvent(wrongScore, 'websocket'))).toMatch(/^faces event \(websocket\): \/faces\/0\/score: must be <= 1 \(maximum\)/);
    expect(refusal(() => checkEvent({ ...faces, frame: 'three' }, 'websocket'))).toMatch(/faces event \(websocket\): \/frame: must be integer \(type\)/);
    expect(refusal(() => checkEvent({ ...faces, extra: 1 }, 'websocket'))).toMatch(/faces event \(websocket\): \(root\): must NOT have additional properties \(additionalProperties: extra\)/);
    const { width, ...noWidth } = faces;
    void width;
    expect(refusal(() => checkEvent(noWidth, 'websocket'))).toMatch(/faces event \(websocket\): \(root\): must have required property 'width' \(required\)/);
    expect(refusal(() => checkEvent({ ...faces, ts: 'yesterday' }, 'websocket'))).toMatch(/^faces event \(websocket\): .*\/ts: must match format "date-time" \(format\)/);
  });

  it('refuses an unknown type, a non-object and text that is not JSON', () => {
    expect(refusal(() => checkEvent({ ...faces, type: 'smiles' }, 'websocket'))).toMatch(/^event \(websocket\): \/type: "smiles" is not an event type \(stream, faces, track, affect, blink[,)]/);
    expect(refusal(() => checkEvent([faces], 'websocket'))).toMatch(/^event \(websocket\): \(root\): not an object/);
    expect(refusal(() => checkEventText('{"type":', 'broker'))).toMatch(/^event \(broker\): not JSON/);
  });

  it('schemaVersion is on every broker message and never on the WebSocket, with the current version', () => {
    expect(refusal(() => checkEvent(faces, 'broker'))).toMatch(/^faces event \(broker\): \(root\): must have required property 'schemaVersion'/);
    expect(refusal(() => checkEvent({ schemaVersion: EVENT_SCHEMA_VERSION, ...faces }, 'websocket'))).toMatch(/^faces event \(websocket\): \/schemaVersion: must be absent on the WebSocket/);
    expect(refusal(() => checkEvent({ schemaVersion: EVENT_SCHEMA_VERSION + 1, ...faces }, 'broker'))).toMatch(/^faces event \(broker\): \/schemaVersion: must be equal to constant \(const\)/);
  });

  it('EventClient records a malformed message it receives as a violation', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    try {
      wss.on('connection', (sock) => {
        sock.send(JSON.stringify(faces));
        sock.send(JSON.stringify({ ...faces, frame: -1 }));
      });
      const client = await EventClient.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/events`);
      try {
        await client.waitFor(() => client.messages.length === 2, 10_000);
      } finally {
        client.close();
      }
      expect(takeContractViolations()).toEqual([expect.stringMatching(/^faces event \(websocket\): \/frame: must be >= 0 \(minimum\)/)]);
    } finally {
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  it("watchEvents records a malformed event on a daemon's bus, as it would go out (JSON, the WebSocket's rules)", () => {
    const bus = new Subject<AnalyticsEvent>();
    const stop = watchEvents(bus);
    bus.next(faces as unknown as AnalyticsEvent);
    bus.next({ ...faces, height: 0 } as unknown as AnalyticsEvent);
    // An absent-but-undefined field is what JSON drops: it conforms.
    bus.next({ type: 'stream', streamId: 'cam', state: 'running', error: undefined, ts: faces.ts } as unknown as AnalyticsEvent);
    stop();
    bus.next({ ...faces, height: 0 } as unknown as AnalyticsEvent);
    expect(takeContractViolations()).toEqual([expect.stringMatching(/^faces event \(bus\): \/height: must be >= 1 \(minimum\)/)]);
  });
});
