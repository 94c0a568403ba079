import { afterEach, describe, expect, it } from 'vitest';
import { InferenceError, ModelLoadError } from '../../core/errors.js';
import { ModelUnavailableError, type HostHealth } from './model-host.js';
import { openHost } from './open-host.js';
import { echoService } from '../../../test/helpers/workers/echo-service.js';
import { ThreadHost } from './thread-host.js';
import { WorkerHost } from './worker-host.js';

const base = new URL('../../../test/helpers/workers/echo-service.ts', import.meta.url).href;
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()));
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WorkerHost (a real worker thread, started from TypeScript sources)', () => {
  it('answers calls in order and reports errors as InferenceError', async () => {
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker' });
    opened.push(host);
    const [a, tid, c] = await Promise.all([host.call('echo', [1, 2]), host.call('slow', 30), host.call('echo', [3])]);
    expect([a, c]).toEqual([[1, 2], [3]]);
    expect(tid).toBeGreaterThan(0); // not the main thread (0)
    const err = await host.call('fail', 'bad input').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).code).toBe('VA_ERR_INFERENCE');
    expect((err as Error).message).toContain('bad input');
    expect(await host.call('echo', [4])).toEqual([4]);
    expect(await host.tensors()).toBe(0);
    expect(host.health()).toEqual({ name: 'echo', where: 'worker', state: 'ready', restarts: 0 });
  });

  it('a worker that cannot open fails start with ModelLoadError and leaves no thread', async () => {
    const err = await WorkerHost.start(echoService, { failOpen: true }, { base, script: './echo-worker' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toContain('cannot open (asked to)');
  });

  it('a killed worker is restarted with backoff, failing calls fast meanwhile, then serves again', async () => {
    // kill() ends the worker between calls (never inside a native run, see stopWorker); a call in
    // flight may still get its reply, so calls failing with the worker are the crash test's below.
    const states: HostHealth[] = [];
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker', restartBaseMs: 200, onState: (h) => states.push(h) });
    opened.push(host);
    await host.kill();
    await waitFor(() => host.health().state === 'restarting');
    const err = await host.call('echo', [1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as InferenceError).code).toBe('VA_ERR_INFERENCE');
    await waitFor(() => host.health().state === 'ready');
    expect(await host.call('echo', [7])).toEqual([7]);
    expect(host.health().restarts).toBe(1);
    expect(states.map((s) => s.state)).toEqual(['restarting', 'ready']);
  });

  it('a worker that crashes by itself (uncaught exception) is restarted, with a growing delay when it keeps crashing', async () => {
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker', restartBaseMs: 100 });
    opened.push(host);
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await host.call('crash', null).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelUnavailableError);
      expect((err as Error).message).toContain('worker blew up');
      delays.push(host.health().restartDelayMs);
      await waitFor(() => host.health().state === 'ready');
    }
    expect(host.health().restarts).toBe(3);
    // Consecutive crashes of a worker that never stayed up for stableMs: the delay doubles.
    expect(delays).toEqual([100, 200, 400]);
    expect(host.health().restartDelayMs).toBeUndefined();
  });

  it('a worker terminated mid-call (Worker.terminate(), no goodbye) fails that call with ModelUnavailableError, is restarted and serves again', async () => {
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker', restartBaseMs: 100 });
    opened.push(host);
    const inFlight = host.call('slow', 60_000).catch((e: unknown) => e);
    await host.terminate();
    const err = await inFlight;
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as Error).message).toMatch(/worker exited \(1\)/);
    expect(host.health().state).toBe('restarting');
    await waitFor(() => host.health().state === 'ready');
    expect(await host.call('echo', [8])).toEqual([8]);
    expect(host.health().restarts).toBe(1);
  });

  it('a worker that reaches its resourceLimits (ERR_WORKER_OUT_OF_MEMORY) fails the call naming the limit, is restarted and serves again', async () => {
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker', restartBaseMs: 100, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 } });
    opened.push(host);
    expect(await host.call('limits', null)).toBe(64);
    const err = await host.call('hog', null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect((err as InferenceError).code).toBe('VA_ERR_INFERENCE');
    expect((err as Error).message).toMatch(/worker crashed: .*memory limit/);
    await waitFor(() => host.health().state === 'ready');
    expect(await host.call('limits', null)).toBe(64); // the restarted worker has the same limits
    expect(host.health().restarts).toBe(1);
  });

  it('close() is idempotent, rejects later calls, stops a pending restart, and works through await using', async () => {
    const host = await WorkerHost.start(echoService, {}, { base, script: './echo-worker', restartBaseMs: 50 });
    await host.kill();
    await Promise.all([host.close(), host.close()]);
    expect(host.health().state).toBe('closed');
    await new Promise((r) => setTimeout(r, 300));
    expect(host.health()).toMatchObject({ state: 'closed', restarts: 0 });
    await expect(host.call('echo', [1])).rejects.toBeInstanceOf(ModelUnavailableError);
    const again = await WorkerHost.start(echoService, {}, { base, script: './echo-worker' });
    await again[Symbol.asyncDispose]();
    expect(again.health().state).toBe('closed');
  });
});

describe('ThreadHost and openHost', () => {
  it('runs the same service on the caller thread with the same contract', async () => {
    const host = await openHost(echoService, {}, { worker: false, base, script: './echo-worker' });
    expect(host).toBeInstanceOf(ThreadHost);
    expect(await host.call('echo', [1])).toEqual([1]);
    await expect(host.call('fail', 'nope')).rejects.toBeInstanceOf(InferenceError);
    expect(host.health()).toEqual({ name: 'echo', where: 'thread', state: 'ready', restarts: 0 });
    await host.close();
    await host.close();
    await expect(host.call('echo', [1])).rejects.toBeInstanceOf(ModelUnavailableError);
  });
});

describe('HostPool (two real workers)', () => {
  it('spreads concurrent calls over its workers, serves on while one restarts, and reports the worst health', async () => {
    const states: string[] = [];
    const pool = await openHost(echoService, {}, { worker: true, workers: 2, base, script: './echo-worker', restartBaseMs: 300, onState: (h) => states.push(h.state) });
    opened.push(pool);
    const { HostPool } = await import('./host-pool.js');
    expect(pool).toBeInstanceOf(HostPool);
    const p = pool as InstanceType<typeof HostPool<{ pid: number; startedAt: number }, import('../../../test/helpers/workers/echo-service.js').EchoApi>>;
    // Two calls at once go to the two workers (the least busy one each time).
    const threads = await Promise.all([p.call('slow', 200), p.call('slow', 200)]);
    expect(new Set(threads).size).toBe(2);
    const [first] = p.members() as WorkerHost<unknown, unknown, import('../../../test/helpers/workers/echo-service.js').EchoApi>[];
    await first!.kill();
    expect(p.health().state).toBe('restarting');
    // The other worker keeps serving.
    expect(await p.call('echo', [5])).toEqual([5]);
    await waitFor(() => p.health().state === 'ready');
    expect(p.health().restarts).toBe(1);
    expect(states).toEqual(['restarting', 'ready']);
  });
});
