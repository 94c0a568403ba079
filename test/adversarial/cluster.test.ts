/**
 * A cluster's lease store misbehaving under real daemons: a Redis that answers slowly, one that
 * stops answering, one restarted without its data, and two processes started with one
 * `cluster.instanceId`. Real redis-server on loopback; in-process daemons with real looped file
 * streams; between them, where a case needs it, a TCP relay that delays Redis's replies or holds
 * every byte (a partition that TCP itself would survive).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, type Broker } from '../../src/bench/harness/local-brokers.js';
import { rendezvousOwner } from '../../src/cluster/rendezvous.js';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import type { AnalyticsEvent } from '../../src/core/records.js';
import { buildDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Relay {
  readonly url: string;
  /** Every reply chunk from Redis waits this long (in order) before it is passed on. */
  delayMs: number;
  /** Holds every byte, both ways, until thawed (then delivers them in order). */
  freeze(): void;
  thaw(): void;
}

async function relayTo(port: number): Promise<Relay> {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const relay: Relay = {
    url: '',
    delayMs: 0,
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false;
      for (const f of held.splice(0)) f();
    },
  };
  const srv = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    // Replies keep their order even if the delay changes between chunks.
    let lastRelease = 0;
    const pass = (to: net.Socket, d: Buffer, delay: number): void => {
      const send = (): void => {
        if (frozen) held.push(() => to.write(d));
        else to.write(d);
      };
      if (delay <= 0 && lastRelease <= Date.now()) return send();
      lastRelease = Math.max(Date.now() + delay, lastRelease);
      setTimeout(send, lastRelease - Date.now());
    };
    client.on('data', (d: Buffer) => (frozen ? held.push(() => up.write(d)) : up.write(d)));
    up.on('data', (d: Buffer) => pass(client, d, relay.delayMs));
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  });
  return Object.assign(relay, { url: `redis://127.0.0.1:${(srv.address() as net.AddressInfo).port}` });
}

const stream = (id: string): { id: string; url: string; loop: boolean; realtime: boolean; analysisFps: number } => ({ id, url: media('utterance_1.mp4'), loop: true, realtime: true, analysisFps: 1 });

/** Every run started and every run ended on one daemon, per stream. */
function runLog(d: RunningDaemon): { starts: Map<string, number>; stops: Map<string, number>; reset(): void } {
  const starts = new Map<string, number>();
  const stops = new Map<string, number>();
  const sub = d.daemon.events.subscribe((e: AnalyticsEvent) => {
    if (e.type !== 'stream') return;
    if (e.state === 'starting') starts.set(e.streamId, (starts.get(e.streamId) ?? 0) + 1);
    if (e.state === 'removed') stops.set(e.streamId, (stops.get(e.streamId) ?? 0) + 1);
  });
  cleanups.push(async () => sub.unsubscribe());
  return { starts, stops, reset: () => (starts.clear(), stops.clear()) };
}

async function clusterDaemon(cluster: Record<string, unknown>, streams: readonly ReturnType<typeof stream>[], extra: Partial<ConfigInput> = {}): Promise<RunningDaemon> {
  const d = await startDaemon({ cluster, files: { roots: [mediaDir] }, streams: [...streams], log: { level: 'info' }, ...extra } as ConfigInput);
  cleanups.push(() => d.close());
  return d;
}

async function ready(d: RunningDaemon): Promise<{ status: number; cluster: boolean | undefined }> {
  const res = await fetch(`${d.base}/readyz`);
  const body = (await res.json()) as { checks: { cluster?: boolean } };
  return { status: res.status, cluster: body.checks.cluster };
}

type View = { members: { id: string }[]; streams: { id: string; owner: string | null; fence: number | null }[] };
const view = async (d: RunningDaemon): Promise<View> => (await (await fetch(`${d.base}/v1/cluster`)).json()) as View;

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('a slow Redis, then a silent one, under a lease holder', () => {
  const ids = ['slow1', 'slow2'];

  it('keeps its leases and its streams running while renewals succeed at 700 ms a reply', async () => {
    const redis: Broker = await startRedis({ persistence: false });
    cleanups.push(() => redis.close());
    const relay = await relayTo(redis.port);
    relay.delayMs = 700;
    // The defaults (10 s lease, 2 s tick: commands time out after 2 s, far above 700 ms).
    const d = await clusterDaemon({ redis: relay.url, instanceId: 'slow' }, ids.map(stream));
    const runs = runLog(d);
    await waitUntil(() => ids.every((id) => d.daemon.supervisor().get(id)?.state === 'running'), 60_000, 'both streams to run');
    runs.reset();
    const answers: number[] = [];
    const t0 = Date.now();
    // Two whole leases: a stream whose renewals failed is stopped 0.8 lease after its last one.
    while (Date.now() - t0 < 2 * 10_000) {
      answers.push((await ready(d)).status);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect({ starts: sum(runs.starts), stops: sum(runs.stops) }, d.logs.filter((l) => l.includes('lease')).slice(-6).join('\n')).toEqual({ starts: 0, stops: 0 });
    expect(answers.filter((s) => s !== 200)).toEqual([]);
    expect(ids.every((id) => d.daemon.supervisor().get(id)?.state === 'running')).toBe(true);
  }, 120_000);

  it('turns readiness red and stops each stream exactly once when Redis stops answering past the lease', async () => {
    // A holder of its own with a shorter lease (5 s, 0.5 s tick: commands time out after 1 s), so
    // "past the lease" below is 5 s + ticks rather than the defaults' 10 s + ticks.
    const redis: Broker = await startRedis({ persistence: false });
    cleanups.push(() => redis.close());
    const relay = await relayTo(redis.port);
    const d = await clusterDaemon({ redis: relay.url, instanceId: 'silent', leaseTtlMs: 5000, tickMs: 500 }, ids.map(stream));
    const runs = runLog(d);
    await waitUntil(() => ids.every((id) => d.daemon.supervisor().get(id)?.state === 'running'), 60_000, 'both streams to run');
    await waitUntil(async () => (await ready(d)).status === 200, 20_000, 'readiness to be green');
    runs.reset();
    relay.freeze();
    await waitUntil(async () => (await ready(d)).status === 503, 20_000, 'readiness to turn red');
    expect((await ready(d)).cluster).toBe(false);
    await waitUntil(() => ids.every((id) => !d.daemon.supervisor().has(id)), 20_000, 'the streams to stop');
    // Stays silent for another lease and a few ticks: nothing starts again, nothing stops twice.
    await new Promise((r) => setTimeout(r, 5000 + 6 * 500));
    expect(Object.fromEntries(runs.stops)).toEqual({ slow1: 1, slow2: 1 });
    expect(sum(runs.starts)).toBe(0);
    expect((await ready(d)).status).toBe(503);
    // Redis answers again: each stream starts once more and readiness is green.
    relay.thaw();
    await waitUntil(() => ids.every((id) => d.daemon.supervisor().get(id)?.state === 'running'), 40_000, 'the streams to run again');
    await waitUntil(async () => (await ready(d)).status === 200, 20_000, 'readiness to turn green');
    expect(Object.fromEntries(runs.starts)).toEqual({ slow1: 1, slow2: 1 });
  }, 120_000);
});

describe('a Redis restarted without its data', () => {
  it('leaves every stream running on its holder, under a new fence, and never on two members', async () => {
    const redis: Broker = await startRedis({ persistence: false });
    cleanups.push(() => redis.close());
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    const cluster = (name: string): Record<string, unknown> => ({ redis: redis.url, instanceId: name, leaseTtlMs: 5000, tickMs: 500 });
    const a = await clusterDaemon(cluster('a'), ids.map(stream));
    const b = await clusterDaemon(cluster('b'), ids.map(stream));
    const members = { a, b } as const;
    const expected = new Map(ids.map((id) => [id, rendezvousOwner(id, ['a', 'b'])!]));
    // Both members must own something, or the case proves nothing about two members.
    expect(new Set(expected.values()).size).toBe(2);
    const placedAsExpected = (): boolean =>
      ids.every((id) => {
        const owner = expected.get(id)!;
        const other = owner === 'a' ? b : a;
        return members[owner as 'a' | 'b'].daemon.supervisor().get(id)?.state === 'running' && !other.daemon.supervisor().has(id);
      });
    await waitUntil(async () => placedAsExpected() && (await view(a)).streams.every((s) => s.owner === expected.get(s.id)), 60_000, 'every stream on its rendezvous owner');
    const before = new Map((await view(a)).streams.map((s) => [s.id, s.fence!]));
    const runsA = runLog(a);
    const runsB = runLog(b);

    await redis.stop();
    await redis.restart();
    // Both holders take their own leases again: new (larger) fences, same owners.
    await waitUntil(async () => {
      const v = await view(b);
      return v.members.length === 2 && v.streams.every((s) => s.owner === expected.get(s.id) && s.fence !== null && s.fence > before.get(s.id)!);
    }, 30_000, 'every lease held again by its holder under a new fence');
    // Past the lease and a few ticks: a member that saw itself alone must not have taken the other's.
    await new Promise((r) => setTimeout(r, 5000 + 6 * 500));
    const runs = { a: { starts: sum(runsA.starts), stops: sum(runsA.stops) }, b: { starts: sum(runsB.starts), stops: sum(runsB.stops) } };
    const leaseLog = [...a.logs.map((l) => `a ${l}`), ...b.logs.map((l) => `b ${l}`)].filter((l) => /lease|handed/.test(l)).slice(-20).join('\n');
    expect(runs, leaseLog).toEqual({ a: { starts: 0, stops: 0 }, b: { starts: 0, stops: 0 } });
    expect(placedAsExpected()).toBe(true);
    const after = await view(a);
    for (const s of after.streams) {
      expect(s.owner).toBe(expected.get(s.id));
      expect(s.fence).toBeGreaterThan(before.get(s.id)!);
    }
    expect((await ready(a)).status).toBe(200);
    expect((await ready(b)).status).toBe(200);
  }, 150_000);
});

describe('two processes with one cluster.instanceId', () => {
  it('a second process finding a live registration under its id refuses to start', async () => {
    const redis: Broker = await startRedis({ persistence: false });
    cleanups.push(() => redis.close());
    const first = await clusterDaemon({ redis: redis.url, instanceId: 'twin', leaseTtlMs: 2000, tickMs: 400 }, [stream('t1')]);
    await waitUntil(() => first.daemon.supervisor().get('t1')?.state === 'running', 60_000, 'the first twin to run its stream');
    // Built by hand: a daemon whose start fails is closed by its caller (main.ts, then exit 1).
    // As a user runs it: the CLI exits 1 with the reason in its log. Spawned first, so its
    // start-up (a process of its own) overlaps the in-process check below.
    const dir = mkdtempSync(path.join(tmpdir(), 'va-twin-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'twin.yaml');
    writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, backend: 'wasm', cluster: { redis: redis.url, instanceId: 'twin', leaseTtlMs: 2000, tickMs: 400 }, files: { roots: [mediaDir] }, streams: [stream('t1')] }));
    const cli = spawnDaemon(['run', '--config', file]);
    cleanups.push(async () => void cli.child.kill('SIGKILL'));
    const config = configSchema.parse({ backend: 'wasm', server: { port: 0 }, cluster: { redis: redis.url, instanceId: 'twin', leaseTtlMs: 2000, tickMs: 400 }, files: { roots: [mediaDir] }, streams: [stream('t1')] });
    const second = buildDaemon(config, { logger: createLogger('silent'), registry: new Registry() });
    cleanups.push(() => second.close());
    await expect(second.start()).rejects.toMatchObject({ code: 'VA_ERR_CONFLICT', message: expect.stringMatching(/cluster\.instanceId "twin"/) });
    expect(second.supervisor().has('t1')).toBe(false);
    expect(await cli.exited).toBe(1);
    expect(cli.stdout.some((l) => l.includes('"code":"VA_ERR_CONFLICT"') && l.includes('cluster.instanceId'))).toBe(true);
    expect((await ready(first)).status).toBe(200);
    expect(first.daemon.supervisor().get('t1')?.state).toBe('running');
  }, 180_000);

  it('one that appears while the first was away turns both red, with an error logged on each', async () => {
    const redis: Broker = await startRedis({ persistence: false });
    cleanups.push(() => redis.close());
    const relay = await relayTo(redis.port);
    const cluster = (url: string): Record<string, unknown> => ({ redis: url, instanceId: 'twin', leaseTtlMs: 2000, tickMs: 400 });
    const first = await clusterDaemon(cluster(relay.url), [stream('u1')]);
    await waitUntil(async () => (await ready(first)).status === 200, 60_000, 'the first twin to be ready');
    // Cut off for longer than its registration lasts; meanwhile a second process takes the id.
    const direct = new Redis(redis.url);
    cleanups.push(async () => direct.disconnect());
    expect(await direct.exists('affect:instance:twin')).toBe(1);
    relay.freeze();
    // Until Redis itself has let its registration lapse (2 s after its last renewal).
    await waitUntil(async () => (await direct.exists('affect:instance:twin')) === 0, 20_000, "the first twin's registration to lapse");
    direct.disconnect();
    const second = await clusterDaemon(cluster(redis.url), [stream('u1')]);
    relay.thaw();
    const errorLogged = (d: RunningDaemon): boolean => d.logs.some((l) => l.includes('"level":50') && l.includes('cluster.instanceId'));
    await waitUntil(async () => (await ready(first)).status === 503 && (await ready(second)).status === 503, 20_000, 'both twins to turn red');
    await waitUntil(() => errorLogged(first) && errorLogged(second), 10_000, 'an error logged by each twin');
    expect((await ready(first)).cluster).toBe(false);
    expect((await ready(second)).cluster).toBe(false);
    // The second goes away: the first is alone with its id again and turns green.
    await second.close();
    await waitUntil(async () => (await ready(first)).status === 200, 20_000, 'the first twin to turn green again');
  }, 120_000);
});
