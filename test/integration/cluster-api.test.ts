/**
 * The HTTP API (and so the control topics, which run the same supervisor calls) against cluster
 * streams: two in-process daemons share one stream through leases in a real Redis. Adding a
 * cluster stream's id on the instance that does not hold its lease would run the camera twice;
 * removing it on the holder would leave the lease held and renewed with the camera running nowhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../src/bench/local-brokers.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('the API and cluster streams', () => {
  it('refuses to add a cluster stream’s id elsewhere or to remove it from its lease holder', async () => {
    const redis = await startRedis({ persistence: false });
    cleanups.push(() => redis.dispose());
    const stream = { id: 'cam1', url: media('utterance_1.mp4'), loop: true, realtime: true, analysisFps: 1 };
    const daemons: Record<string, RunningDaemon> = {};
    for (const name of ['a', 'b']) {
      const d = await startDaemon({ cluster: { redis: redis.url, instanceId: name, leaseTtlMs: 2000, tickMs: 400 }, files: { roots: [mediaDir] }, streams: [stream], log: { level: 'warn' } });
      cleanups.push(() => d.close());
      daemons[name] = d;
    }
    let owner: string | null = null;
    for (let i = 0; i < 100 && !owner; i++) {
      const view = (await (await fetch(`${daemons.a!.base}/v1/cluster`)).json()) as { streams: { id: string; owner: string | null }[] };
      owner = view.streams[0]?.owner ?? null;
      if (!owner) await new Promise((r) => setTimeout(r, 100));
    }
    expect(owner === 'a' || owner === 'b').toBe(true);
    const holder = daemons[owner!]!;
    const other = daemons[owner === 'a' ? 'b' : 'a']!;
    const post = await fetch(`${other.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam1', url: media('utterance_1.mp4') }) });
    expect(post.status).toBe(409);
    expect(other.daemon.supervisor().has('cam1')).toBe(false);
    const del = await fetch(`${holder.base}/v1/streams/cam1`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(holder.daemon.supervisor().has('cam1')).toBe(true);
  });
});
