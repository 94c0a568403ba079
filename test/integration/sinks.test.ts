/**
 * Event sinks against real brokers on loopback (mosquitto, nats-server with JetStream,
 * redis-server): every event of a real stream arrives; a broker that dies mid-stream costs at most
 * what the buffer bound allows, and the counters say so; bad URLs and credentials leave analysis
 * running with a clear error.
 */
import mqtt from 'mqtt';
import { connect as natsConnect, AckPolicy, DeliverPolicy } from 'nats';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../src/core/records.js';
import { startMosquitto, startNats, startRedis, type Broker } from '../../src/bench/harness/local-brokers.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { recordIfMisaddressed, type BrokerKind } from '../helpers/asyncapi-contract.js';
import { recordIfRefused } from '../helpers/event-contract.js';
import { media, mediaDir } from '../helpers/media.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function broker(start: () => Promise<Broker>): Promise<Broker> {
  const b = await start();
  cleanups.push(() => b.close());
  return b;
}

async function daemonWith(input: Parameters<typeof startDaemon>[0]): Promise<{ d: RunningDaemon; emitted: AnalyticsEvent[] }> {
  const d = await startDaemon(input);
  cleanups.push(() => d.close());
  return { d, emitted: [] };
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metricValue(d: RunningDaemon, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${d.base}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Subscribes to a daemon's events before its streams start (config streams start in start()). */
function recordEvents(d: RunningDaemon, into: AnalyticsEvent[]): void {
  const sub = d.daemon.events.subscribe((e) => into.push(e));
  cleanups.push(async () => sub.unsubscribe());
}

/** A broker message as the WebSocket event it carries, once checked against its committed schema (schemaVersion included). */
const strip = (json: string, at?: { readonly kind: BrokerKind; readonly address: string }): string => {
  recordIfRefused(json, 'broker');
  // Where it arrived: the AsyncAPI document's channel of its kind (default topic templates here).
  if (at) recordIfMisaddressed(at.kind, at.address, json);
  const { schemaVersion, ...event } = JSON.parse(json) as Record<string, unknown>;
  void schemaVersion;
  return JSON.stringify(event);
};

async function mqttConsumer(url: string, clientId: string): Promise<{ received: string[]; client: mqtt.MqttClient }> {
  const received: string[] = [];
  const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 100, protocolVersion: 4 });
  client.on('message', (t, payload) => received.push(strip(payload.toString('utf8'), { kind: 'mqtt', address: t })));
  await client.subscribeAsync('affect/#', { qos: 1 });
  cleanups.push(() => client.endAsync(true));
  return { received, client };
}

async function natsStored(url: string, stream = 'AFFECT'): Promise<string[]> {
  const nc = await natsConnect({ servers: url });
  try {
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream);
    const n = info.state.messages;
    const name = `check${Date.now()}`;
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get(stream, name);
    const out: string[] = [];
    while (out.length < n) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, n - out.length), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        out.push(strip(m.string(), { kind: 'nats', address: m.subject }));
        got++;
      }
      if (got === 0) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

async function redisStored(url: string, key: string): Promise<string[]> {
  const r = new Redis(url);
  try {
    const entries = await r.xrange(key, '-', '+');
    return entries.map(([, fields]) => strip(fields[1] ?? '', { kind: 'redis', address: key }));
  } finally {
    r.disconnect();
  }
}

describe('event sinks on real brokers', () => {
  it('every event of a file stream reaches MQTT, NATS JetStream and Redis Streams, in order', async () => {
    const [mq, nats, redis] = await Promise.all([broker(startMosquitto), broker(startNats), broker(startRedis)]);
    const consumer = await mqttConsumer(mq.url, 'check-all');
    const emitted: AnalyticsEvent[] = [];
    const { d: daemon } = await daemonWith({
      sinks: [
        { kind: 'mqtt', name: 'mq', url: mq.url },
        { kind: 'nats', name: 'js', url: nats.url, jetstream: { storage: 'memory' } },
        { kind: 'redis', name: 'rs', url: redis.url },
      ],
      files: { roots: [mediaDir] },
    });
    recordEvents(daemon, emitted);
    const res = await fetch(`${daemon.base}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'clip', url: media('utterance_1.mp4'), realtime: false }),
    });
    expect(res.status).toBe(201);
    await until(() => emitted.some((e) => e.type === 'stream' && e.state === 'ended'), 60_000, 'the stream to end');
    const expected = emitted.filter((e) => e.streamId === 'clip').map((e) => JSON.stringify(e));
    expect(expected.filter((e) => e.includes('"type":"faces"')).length).toBeGreaterThan(250);
    await until(async () => (await metricValue(daemon, 'va_sink_messages_total', { sink: 'rs' })) >= expected.length, 20_000, 'redis acks');
    await until(async () => (await metricValue(daemon, 'va_sink_messages_total', { sink: 'js' })) >= expected.length, 20_000, 'jetstream acks');
    await until(() => consumer.received.length >= expected.length, 20_000, 'mqtt delivery');
    expect(consumer.received).toEqual(expected);
    expect(await natsStored(nats.url)).toEqual(expected);
    // Redis: one stream key per daemon stream.
    expect(await redisStored(redis.url, 'affect:clip')).toEqual(expected);
    for (const sink of ['mq', 'js', 'rs']) {
      expect(await metricValue(daemon, 'va_sink_dropped_total', { sink })).toBe(0);
      expect(await metricValue(daemon, 'va_sink_connected', { sink })).toBe(1);
    }
  }, 120_000);

  it('a broker killed mid-stream loses nothing within the buffer bound; beyond it every loss is counted (a write in flight at the kill may be counted and still stored)', async () => {
    const [redisBig, redisSmall, nats] = await Promise.all([broker(startRedis), broker(startRedis), broker(startNats)]);
    const emitted: AnalyticsEvent[] = [];
    const reconnect = { initialDelayMs: 50, maxDelayMs: 200 };
    const { d: daemon } = await daemonWith({
      sinks: [
        { kind: 'redis', name: 'big', url: redisBig.url, bufferMessages: 100_000, reconnect, connectTimeoutMs: 500 },
        { kind: 'redis', name: 'small', url: redisSmall.url, bufferMessages: 20, reconnect, connectTimeoutMs: 500, types: ['faces'] },
        { kind: 'nats', name: 'js', url: nats.url, bufferMessages: 100_000, reconnect, connectTimeoutMs: 500 },
      ],
      files: { roots: [mediaDir] },
    });
    recordEvents(daemon, emitted);
    await fetch(`${daemon.base}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cam', url: media('utterance_1.mp4'), realtime: true, loop: true }),
    });
    const faces = (): number => emitted.filter((e) => e.type === 'faces').length;
    await until(() => faces() > 20, 20_000, 'faces before the outage');
    await Promise.all([redisBig.stop(), redisSmall.stop(), nats.stop()]);
    const before = faces();
    await until(() => faces() > before + 60, 20_000, 'faces during the outage');
    // Analysis went on while every broker was gone.
    await Promise.all([redisBig.restart(), redisSmall.restart(), nats.restart()]);
    const after = faces();
    await until(() => faces() > after + 20, 20_000, 'faces after the outage');
    await fetch(`${daemon.base}/v1/streams/cam`, { method: 'DELETE' });
    const expected = emitted.filter((e) => e.streamId === 'cam').map((e) => JSON.stringify(e));
    await until(async () => (await metricValue(daemon, 'va_sink_buffered_messages', { sink: 'big' })) === 0, 20_000, 'big buffer to drain');
    await until(async () => (await metricValue(daemon, 'va_sink_buffered_messages', { sink: 'small' })) === 0, 20_000, 'small buffer to drain');
    await until(async () => (await metricValue(daemon, 'va_sink_buffered_messages', { sink: 'js' })) === 0, 20_000, 'jetstream buffer to drain');

    // Within the bound: every event is there (a retried XADD may store a duplicate: at-least-once).
    const big = new Set(await redisStored(redisBig.url, 'affect:cam'));
    expect(expected.filter((e) => !big.has(e))).toEqual([]);
    expect(await metricValue(daemon, 'va_sink_dropped_total', { sink: 'big' })).toBe(0);
    // JetStream de-duplicates retries by message id: exactly once.
    expect(await natsStored(nats.url)).toEqual(expected);

    // Beyond the bound: what is missing is exactly what the counter says was dropped.
    const expectedFaces = expected.filter((e) => e.includes('"type":"faces"'));
    const small = new Set(await redisStored(redisSmall.url, 'affect:cam'));
    const missing = expectedFaces.filter((e) => !small.has(e)).length;
    const dropped = await metricValue(daemon, 'va_sink_dropped_total', { sink: 'small' });
    expect(missing).toBeGreaterThan(0);
    // A message the sink gave up on may still have reached Redis: an XADD written before the kill
    // whose reply never came (seen once in a few runs on a loaded machine: 44 dropped, 43 missing).
    // So every missing event is counted, and at most the writes then in flight are counted beyond.
    expect(dropped).toBeGreaterThanOrEqual(missing);
    expect(dropped - missing).toBeLessThanOrEqual(5);
  }, 120_000);

  it('bad broker URLs and wrong credentials give clear errors and leave analysis running', async () => {
    const [nats, redis, mq] = await Promise.all([
      broker(() => startNats({ user: 'daemon', pass: 'right-pass' })),
      broker(() => startRedis({ password: 'right-pass' })),
      broker(() => startMosquitto({ password: { user: 'daemon', pass: 'right-pass' } })),
    ]);
    const closedPort = `redis://127.0.0.1:1`;
    const { d: daemon } = await daemonWith({
      sinks: [
        { kind: 'nats', name: 'natsauth', url: nats.url.replace('nats://', 'nats://daemon:wrong-pass@') },
        { kind: 'redis', name: 'redisauth', url: redis.url, password: 'wrong-pass', bufferMessages: 10 },
        { kind: 'mqtt', name: 'mqttauth', url: mq.url, username: 'daemon', password: 'wrong-pass' },
        { kind: 'redis', name: 'nobody', url: closedPort, connectTimeoutMs: 300 },
      ],
      streams: [{ id: 'clip', url: media('utterance_1.mp4'), realtime: true, loop: true }],
    });
    await until(async () => (await metricValue(daemon, 'va_frames_decoded_total', { stream: 'clip' })) > 30, 20_000, 'frames');
    await until(async () => {
      const ready = (await (await fetch(`${daemon.base}/readyz`)).json()) as { details: { sinks?: { name: string; lastError?: string }[] } };
      return (ready.details.sinks ?? []).every((s) => s.lastError !== undefined);
    }, 15_000, 'every sink to report its error');
    const ready = (await (await fetch(`${daemon.base}/readyz`)).json()) as { details: { sinks: { name: string; connected: boolean; lastError: string }[] } };
    const err = Object.fromEntries(ready.details.sinks.map((s) => [s.name, s.lastError]));
    expect(ready.details.sinks.every((s) => !s.connected)).toBe(true);
    expect(err.natsauth).toMatch(/authori[sz]ation/i);
    expect(err.redisauth).toMatch(/WRONGPASS|invalid username-password|NOAUTH/i);
    expect(err.mqttauth).toMatch(/not authori[sz]ed|bad user name or password/i);
    expect(err.nobody).toMatch(/ECONNREFUSED|refused/i);
    for (const e of Object.values(err)) expect(e).not.toContain('wrong-pass');
    expect(daemon.logs.join('\n')).not.toContain('wrong-pass');
    // Analysis is untouched, and the small buffer's overflow is counted.
    const decoded = await metricValue(daemon, 'va_frames_decoded_total', { stream: 'clip' });
    await until(async () => (await metricValue(daemon, 'va_frames_decoded_total', { stream: 'clip' })) > decoded + 10, 10_000, 'more frames');
    await until(async () => (await metricValue(daemon, 'va_sink_dropped_total', { sink: 'redisauth' })) > 0, 10_000, 'overflow drops');
  }, 90_000);
});

describe('stream control through a broker', () => {
  it('adds, lists, restarts and removes streams over MQTT and NATS with the HTTP API checks and limits', async () => {
    const [mq, nats] = await Promise.all([broker(startMosquitto), broker(startNats)]);
    const { d: daemon } = await daemonWith({
      server: { maxStreams: 2 },
      files: { roots: [mediaDir] },
      sinks: [
        { kind: 'mqtt', name: 'mq', url: mq.url, types: ['stream'], control: { topic: 'affect/control' } },
        { kind: 'nats', name: 'ns', url: nats.url, jetstream: null, types: ['stream'], control: { topic: 'affect.control' } },
      ],
    });
    // MQTT: commands on affect/control, replies on affect/control/reply.
    const replies: Record<string, unknown>[] = [];
    const client = await mqtt.connectAsync(mq.url, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    client.on('message', (_t, p) => replies.push(JSON.parse(p.toString('utf8')) as Record<string, unknown>));
    await client.subscribeAsync('affect/control/reply', { qos: 1 });
    const mqttCommand = async (body: string): Promise<Record<string, unknown>> => {
      const n = replies.length;
      // The daemon's control client subscribes in the background: resend until it answers.
      for (let i = 0; i < 100 && replies.length === n; i++) {
        if (i % 20 === 0) await client.publishAsync('affect/control', body, { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(replies.length).toBeGreaterThan(n);
      return replies[n]!;
    };
    const add = await mqttCommand(JSON.stringify({ op: 'add', requestId: 'r1', stream: { id: 'cam1', url: media('utterance_1.mp4'), loop: true } }));
    expect(add).toMatchObject({ ok: true, status: 201, requestId: 'r1', stream: { id: 'cam1' } });
    await until(async () => (await metricValue(daemon, 'va_frames_decoded_total', { stream: 'cam1' })) > 5, 20_000, 'cam1 frames');
    expect(await mqttCommand('{not json')).toMatchObject({ ok: false, status: 400, error: { code: 'VA_ERR_BAD_REQUEST' } });
    expect(await mqttCommand(JSON.stringify({ op: 'add', stream: { id: 'x', url: 'gopher://h/x' } }))).toMatchObject({ ok: false, status: 400 });
    expect(await mqttCommand(JSON.stringify({ op: 'add', stream: { id: 'x', url: '/etc/passwd' } }))).toMatchObject({ ok: false, status: 403, error: { code: 'VA_ERR_SOURCE_FORBIDDEN' } });
    expect(await mqttCommand(JSON.stringify({ op: 'add', stream: { id: 'cam1', url: media('utterance_1.mp4') } }))).toMatchObject({ ok: false, status: 409 });
    expect(await mqttCommand(JSON.stringify({ op: 'drop-tables' }))).toMatchObject({ ok: false, status: 400 });

    // NATS: request/reply on affect.control.
    const nc = await natsConnect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const request = async (body: unknown): Promise<Record<string, unknown>> => {
      for (let i = 0; ; i++) {
        try {
          const m = await nc.request('affect.control', JSON.stringify(body), { timeout: 1000 });
          return JSON.parse(m.string()) as Record<string, unknown>;
        } catch (err) {
          if (i > 10) throw err;
        }
      }
    };
    expect(await request({ op: 'add', stream: { id: 'cam2', url: media('single_face.mp4'), loop: true } })).toMatchObject({ ok: true, status: 201 });
    expect(await request({ op: 'add', stream: { id: 'cam3', url: media('single_face.mp4') } })).toMatchObject({ ok: false, status: 429, error: { code: 'VA_ERR_LIMIT' } });
    const list = await request({ op: 'list' });
    expect((list.streams as { id: string }[]).map((s) => s.id).sort()).toEqual(['cam1', 'cam2']);
    expect(await request({ op: 'restart', id: 'cam2' })).toMatchObject({ ok: true, status: 200, stream: { id: 'cam2' } });
    expect(await request({ op: 'remove', id: 'cam1' })).toMatchObject({ ok: true, status: 204 });
    expect(await request({ op: 'remove', id: 'cam1' })).toMatchObject({ ok: false, status: 404 });
    const http = (await (await fetch(`${daemon.base}/v1/streams`)).json()) as { streams: { id: string }[] };
    expect(http.streams.map((s) => s.id)).toEqual(['cam2']);
  }, 90_000);
});
