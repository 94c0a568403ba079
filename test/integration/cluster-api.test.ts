/**
 * The HTTP API (and so the control topics, which run the same supervisor calls) against cluster
 * streams: two in-process daemons share one stream through leases in a real Redis. Adding a
 * cluster stream's id on the instance that does not hold its lease would run the camera twice;
 * removing it on the holder would leave the lease held and renewed with the camera running nowhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto, startRedis } from '../../src/bench/harness/local-brokers.js';
import { rendezvousOwner } from '../../src/cluster/rendezvous.js';
import { configSchema } from '../../src/config/schema.js';
import { startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
// Every answer is checked against the committed OpenAPI document (a change of shape fails here).
import { checkedFetch as fetch } from '../helpers/http-contract.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('the API and cluster streams', () => {
  it('refuses to add a cluster stream’s id elsewhere or to remove it from its lease holder', async () => {
    const [redis, mq] = await Promise.all([startRedis({ persistence: false }), startMosquitto()]);
    cleanups.push(() => redis.close(), () => mq.close());
    const sinks = [{ kind: 'mqtt' as const, name: 'ctl', url: mq.url, types: ['stream' as const], control: { topic: 'ctl/{instance}' } }];
    const stream = { id: 'cam1', url: media('utterance_1.mp4'), loop: true, realtime: true, analysisFps: 1 };
    const daemons: Record<string, RunningDaemon> = {};
    for (const name of ['a', 'b']) {
      const d = await startDaemon({ cluster: { redis: redis.url, instanceId: name, leaseTtlMs: 2000, tickMs: 400 }, files: { roots: [mediaDir] }, streams: [stream], sinks, log: { level: 'warn' } });
      cleanups.push(() => d.close());
      daemons[name] = d;
    }
    // Settled: the lease is with the stream's rendezvous owner (the first member to start holds it
    // until the second joins and takes it over) and the stream runs there.
    const owner = rendezvousOwner('cam1', ['a', 'b'])!;
    const holder = daemons[owner]!;
    const other = daemons[owner === 'a' ? 'b' : 'a']!;
    await waitUntil(async () => {
      const view = (await (await fetch(`${other.base}/v1/cluster`)).json()) as { streams: { id: string; owner: string | null }[] };
      return view.streams[0]?.owner === owner && holder.daemon.supervisor().has('cam1') && !other.daemon.supervisor().has('cam1');
    }, 30_000, 'cam1 to run on its rendezvous owner');
    const post = await fetch(`${other.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam1', url: media('utterance_1.mp4') }) });
    expect(post.status).toBe(409);
    expect(other.daemon.supervisor().has('cam1')).toBe(false);
    const del = await fetch(`${holder.base}/v1/streams/cam1`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(holder.daemon.supervisor().has('cam1')).toBe(true);

    // A control command addresses one instance: every instance reads the same config.
    const client = await mqtt.connectAsync(mq.url);
    cleanups.push(() => client.endAsync(true));
    const replies: { topic: string; status: number }[] = [];
    client.on('message', (topic, p) => replies.push({ topic, status: (JSON.parse(p.toString()) as { status: number }).status }));
    await client.subscribeAsync('ctl/+/reply', { qos: 1 });
    for (let i = 0; i < 40 && replies.length === 0; i++) {
      await client.publishAsync('ctl/a', JSON.stringify({ op: 'add', stream: { id: 'extra', url: media('utterance_1.mp4'), loop: true, realtime: true, analysisFps: 1 } }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(replies[0]).toEqual({ topic: 'ctl/a/reply', status: 201 });
    expect(daemons.a!.daemon.supervisor().has('extra')).toBe(true);
    expect(daemons.b!.daemon.supervisor().has('extra')).toBe(false);
  });

  it('refuses a control topic every instance of a cluster would share', () => {
    const input = { cluster: { redis: 'redis://127.0.0.1:6379' }, sinks: [{ kind: 'mqtt', name: 'm', url: 'mqtt://127.0.0.1:1883', control: { topic: 'affect/control' } }] };
    const r = configSchema.safeParse(input);
    expect(r.success ? [] : r.error.issues.map((i) => i.path.join('.'))).toEqual(['sinks.0.control.topic']);
    expect(configSchema.safeParse({ ...input, sinks: [{ ...input.sinks[0], control: { topic: 'affect/control/{instance}' } }] }).success).toBe(true);
  });
});
