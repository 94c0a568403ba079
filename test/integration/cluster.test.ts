/**
 * Many daemons, one set of cameras: three spawned daemons share twelve looped file streams through
 * leases in a real Redis. Every stream runs on exactly one live instance; a SIGKILLed instance's
 * streams move to the others within the lease bound; when it returns the load rebalances; a
 * consumer on a real MQTT broker sees every stream's events continue.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startMosquitto, startRedis, type Broker } from '../../src/bench/harness/local-brokers.js';
import { rendezvousOwner } from '../../src/cluster/rendezvous.js';
import { recordIfRefused } from '../helpers/event-contract.js';
import { media } from '../helpers/media.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

const LEASE_TTL_MS = 5000;
const TICK_MS = 500;
const STREAMS = 12;

const dir = mkdtempSync(path.join(tmpdir(), 'va-cluster-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

interface Instance {
  readonly name: string;
  daemon: SpawnedDaemon;
  base: string;
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

async function until(pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

describe('a cluster of daemons sharing cameras through Redis leases', () => {
  it('runs each stream once, moves a killed instance’s streams, and rebalances when it returns', async () => {
    const [redis, mq]: Broker[] = await Promise.all([startRedis(), startMosquitto()]);
    cleanups.push(() => redis!.close(), () => mq!.close());
    // A light camera: 5 fps at 320 px, so twelve of them fit on two busy cores.
    const clip = path.join(dir, 'cam.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', media('utterance_1.mp4'), '-vf', 'scale=320:-2,fps=5', '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-y', clip]);
    const streams = Array.from({ length: STREAMS }, (_, i) => ({ id: `cam${i + 1}`, url: clip, loop: true, realtime: true, analysisFps: 1 }));
    const configFor = (name: string): string => {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        JSON.stringify({
          server: { host: '127.0.0.1', port: 0 },
          log: { level: 'info' },
          backend: 'wasm',
          cluster: { redis: redis!.url, instanceId: name, leaseTtlMs: LEASE_TTL_MS, tickMs: TICK_MS },
          sinks: [{ kind: 'mqtt', name: 'events', url: mq!.url, types: ['faces', 'stream'] }],
          streams,
        }),
      );
      return file;
    };
    const launch = async (name: string): Promise<Instance> => {
      const daemon = spawnDaemon(['run', '--config', configFor(name)]);
      cleanups.push(async () => {
        daemon.child.kill('SIGKILL');
        await daemon.exited;
      });
      const port = await daemon.port();
      return { name, daemon, base: `http://127.0.0.1:${port}` };
    };

    const lastFaces = new Map<string, number>();
    const consumer = await mqtt.connectAsync(mq!.url, { reconnectPeriod: 200 });
    cleanups.push(() => consumer.endAsync(true));
    consumer.on('message', (topic, payload) => {
      recordIfRefused(payload.toString('utf8'), 'broker');
      const [, stream, type] = topic.split('/');
      if (type === 'faces' && stream) lastFaces.set(stream, Date.now());
    });
    await consumer.subscribeAsync('affect/+/+', { qos: 0 });

    const instances = await Promise.all(['d1', 'd2', 'd3'].map(launch));
    const alive = (): Instance[] => instances.filter((i) => i.daemon.child.exitCode === null && i.daemon.child.signalCode === null);
    /**
     * Where each stream runs, from every live instance's API. Polls are not atomic across
     * instances (a handover can fall between two requests), so "never twice" is checked on the
     * daemons' own logs at the end; here two claims make the placement incomplete.
     */
    const placement = async (): Promise<Map<string, string>> => {
      const where = new Map<string, string>();
      const twice = new Set<string>();
      for (const inst of alive()) {
        const { streams: list } = await json<{ streams: { id: string; state: string }[] }>(`${inst.base}/v1/streams`);
        for (const s of list) {
          if (where.has(s.id)) twice.add(s.id);
          where.set(s.id, inst.name);
        }
      }
      for (const id of twice) where.delete(id);
      return where;
    };

    type View = { members: { id: string }[]; streams: { id: string; owner: string | null; fence: number | null }[] };
    /**
     * Settled: the expected members, every stream placed with its rendezvous owner (not a transient
     * placement while a member that just joined waits for its share), and running where its lease is.
     */
    const settled = async (members: string[]): Promise<boolean> => {
      const inst = alive()[0];
      if (!inst) return false;
      const v = await json<View>(`${inst.base}/v1/cluster`);
      if (v.members.map((m) => m.id).join() !== members.join()) return false;
      const p = await placement();
      return p.size === STREAMS && v.streams.every((s) => p.get(s.id) === s.owner && s.owner === rendezvousOwner(s.id, members));
    };
    await until(() => settled(['d1', 'd2', 'd3']), 60_000, 'all twelve streams to be placed on three members');
    const before = await placement();
    const perInstance = (p: Map<string, string>, name: string): string[] => [...p].filter(([, n]) => n === name).map(([id]) => id);
    const leaseLog = (): string =>
      instances.flatMap((i) => i.daemon.stdout.filter((l) => /lease|handed|member|cluster/.test(l)).map((l) => `${i.name} ${l}`)).join('\n');
    for (const name of ['d1', 'd2', 'd3']) expect(perInstance(before, name).length, `${name}'s share in ${JSON.stringify([...before])}\n${leaseLog()}`).toBeGreaterThan(0);
    // Another instance's view is as of its own last tick, which may predate the last acquisition.
    await until(async () => {
      const view = await json<{ members: { id: string }[]; streams: { id: string; owner: string; fence: number | null }[] }>(`${instances[1]!.base}/v1/cluster`);
      return view.members.map((m) => m.id).join() === 'd1,d2,d3' && view.streams.every((s) => typeof s.fence === 'number' && s.fence >= 1);
    }, 5_000, 'every instance to show the three members and a fence for every stream');
    // (settled() already matched every owner in instance 0's view against where the streams run.)
    await until(() => streams.every((s) => lastFaces.has(s.id)), 30_000, 'faces events from every stream on the broker');

    // SIGKILL one instance: its streams move within the lease bound.
    const victim = instances[0]!;
    const orphaned = perInstance(before, 'd1');
    victim.daemon.child.kill('SIGKILL');
    await victim.daemon.exited;
    const killedAt = Date.now();
    const firstRun = victim.daemon;
    const moved = await until(async () => {
      const p = await placement();
      return orphaned.every((id) => p.has(id) && p.get(id) !== 'd1');
    }, 60_000, "the killed instance's streams to run elsewhere");
    // The lease lapses after ttl and the next tick after that takes it, plus a start: about
    // ttl + tick + 1 s here. The bound is generous (a shared 2-core box stalls processes for
    // seconds); what it catches is a move that waits for something other than the lease, such as
    // a second lease time.
    expect(moved).toBeLessThan(2 * (LEASE_TTL_MS + TICK_MS) + 10_000);
    console.log(`streams of the killed instance running elsewhere after ${moved} ms (lease ${LEASE_TTL_MS} ms, tick ${TICK_MS} ms)`);
    const t0 = Date.now();
    await until(() => orphaned.every((id) => (lastFaces.get(id) ?? 0) > t0), 30_000, 'events of the moved streams on the broker');
    expect((await json<{ members: { id: string }[] }>(`${instances[1]!.base}/v1/cluster`)).members.map((m) => m.id)).toEqual(['d2', 'd3']);

    // It comes back: it takes its share back, and no stream ever runs twice (checked at every poll).
    instances[0] = await launch('d1');
    // Each stream moves once it has stopped where it ran (a stop can take seconds on a loaded
    // machine), so the share is complete when the cluster has settled again, not at its first stream.
    await until(() => settled(['d1', 'd2', 'd3']), 60_000, 'the returning instance to take its whole share');
    const after = await placement();
    expect(perInstance(after, 'd1').sort()).toEqual([...orphaned].sort());
    const t1 = Date.now();
    await until(() => streams.every((s) => (lastFaces.get(s.id) ?? 0) > t1), 30_000, 'events of every stream after rebalancing');
    // Never two at once: per stream, the intervals from "lease acquired" to "handed over"/"stopped"
    // (or the SIGKILL) logged by different instances do not overlap.
    type Interval = { inst: string; from: number; to: number };
    const intervals = new Map<string, Interval[]>();
    const scan = (inst: string, lines: readonly string[], endOfLife: number): void => {
      const open = new Map<string, number>();
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { msg?: string; streamId?: string; time: number };
        if (!rec.streamId) continue;
        if (rec.msg === 'lease acquired: stream starting here') open.set(rec.streamId, rec.time);
        else if (rec.msg?.startsWith('stream handed over') || rec.msg?.includes('stream stopped')) {
          const from = open.get(rec.streamId);
          if (from !== undefined) (intervals.get(rec.streamId) ?? intervals.set(rec.streamId, []).get(rec.streamId)!).push({ inst, from, to: rec.time });
          open.delete(rec.streamId);
        }
      }
      for (const [id, from] of open) (intervals.get(id) ?? intervals.set(id, []).get(id)!).push({ inst, from, to: endOfLife });
    };
    scan('d1#1', firstRun.stdout, killedAt);
    for (const inst of instances) scan(inst.name, inst.daemon.stdout, Date.now());
    expect(intervals.size).toBe(STREAMS);
    for (const [id, list] of intervals) {
      const sorted = [...list].sort((a, b) => a.from - b.from);
      for (let i = 1; i < sorted.length; i++) {
        expect(sorted[i]!.from, `${id}: ${sorted[i]!.inst} started before ${sorted[i - 1]!.inst} let go: ${JSON.stringify(sorted)}\n${leaseLog()}`).toBeGreaterThanOrEqual(sorted[i - 1]!.to);
      }
    }
    const metrics = await (await fetch(`${instances[0]!.base}/metrics`)).text();
    expect(metrics).toMatch(/^va_cluster_members 3$/m);
    expect(metrics).toMatch(new RegExp(`^va_cluster_streams_owned ${orphaned.length}$`, 'm'));
  }, 240_000);
});
