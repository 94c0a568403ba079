import { Subject, lastValueFrom, of, toArray, type OperatorFunction } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { inferBatched } from './infer-batched.js';
import type { DropReason } from './micro-batch.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A fake model: each call waits until the test resolves it; records batches and concurrency. */
function fakeModel<T>() {
  const calls: { batch: T[]; done: ReturnType<typeof deferred<void>> }[] = [];
  let running = 0;
  let maxRunning = 0;
  const project = async (batch: readonly T[]): Promise<T[]> => {
    const done = deferred<void>();
    calls.push({ batch: [...batch], done });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await done.promise;
    } finally {
      running--;
    }
    return [...batch];
  };
  return { calls, project, maxRunning: () => maxRunning };
}

describe('inferBatched', () => {
  it('maps items to one result per batch', () => {
    const project = async (b: readonly string[]): Promise<number[]> => b.map((s) => s.length);
    expectTypeOf(inferBatched(project, { maxBatch: 8, maxWaitMs: 10, maxQueue: 64 })).toEqualTypeOf<OperatorFunction<string, number[]>>();
  });

  it('runs one batch at a time, in order; batches form from what arrived while busy', async () => {
    const model = fakeModel<number>();
    const src = new Subject<number>();
    const out: number[][] = [];
    const done = lastValueFrom(src.pipe(inferBatched(model.project, { maxBatch: 4, maxWaitMs: 0, maxQueue: 16 }), toArray()));
    src.next(1); // idle model: goes alone, at once
    expect(model.calls.map((c) => c.batch)).toEqual([[1]]);
    for (const v of [2, 3, 4, 5, 6]) src.next(v);
    src.complete();
    expect(model.calls).toHaveLength(1); // still busy: nothing else started
    model.calls[0]!.done.resolve();
    await tick();
    expect(model.calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4, 5]]);
    model.calls[1]!.done.resolve();
    await tick();
    model.calls[2]!.done.resolve();
    out.push(...(await done));
    expect(model.calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4, 5], [6]]);
    expect(out).toEqual([[1], [2, 3, 4, 5], [6]]);
    expect(model.maxRunning()).toBe(1);
  });

  it('flushes everything still waiting when the source completes', async () => {
    const project = async (b: readonly number[]): Promise<number> => {
      await tick();
      return b.reduce((x, y) => x + y, 0);
    };
    const sums = await lastValueFrom(
      of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10).pipe(inferBatched(project, { maxBatch: 4, maxWaitMs: 1000, maxQueue: 20 }), toArray()),
    );
    expect(sums).toEqual([1 + 2 + 3 + 4, 5 + 6 + 7 + 8, 9 + 10]);
  });

  it('drops the oldest waiting windows under a slow model and reports each, per stream', async () => {
    const model = fakeModel<{ stream: string; n: number }>();
    const src = new Subject<{ stream: string; n: number }>();
    const dropped = new Map<string, number>();
    const results: { stream: string; n: number }[][] = [];
    const sub = src
      .pipe(
        inferBatched(model.project, {
          maxBatch: 2,
          maxWaitMs: 0,
          maxQueue: 3,
          onDrop: (item, reason) => {
            expect(reason).toBe('overflow');
            dropped.set(item.stream, (dropped.get(item.stream) ?? 0) + 1);
          },
        }),
      )
      .subscribe((r) => results.push(r));
    for (let n = 0; n < 8; n++) src.next({ stream: n % 2 ? 'cam-b' : 'cam-a', n });
    // 0 in flight; 1..7 arrived while busy, only the newest 3 (5, 6, 7) may wait.
    expect(Object.fromEntries(dropped)).toEqual({ 'cam-b': 2, 'cam-a': 2 });
    model.calls[0]!.done.resolve();
    await tick();
    model.calls[1]!.done.resolve();
    await tick();
    model.calls[2]!.done.resolve();
    await tick();
    expect(results.map((b) => b.map((x) => x.n))).toEqual([[0], [5, 6], [7]]);
    sub.unsubscribe();
  });

  it('fails the stream when the model rejects and reports what was waiting', async () => {
    const drops: [number, DropReason][] = [];
    const model = fakeModel<number>();
    const src = new Subject<number>();
    const onDrop = (v: number, r: DropReason): number => drops.push([v, r]);
    const done = lastValueFrom(src.pipe(inferBatched(model.project, { maxBatch: 2, maxWaitMs: 0, maxQueue: 4, onDrop })));
    src.next(1);
    src.next(2);
    src.next(3);
    model.calls[0]!.done.reject(new Error('inference failed'));
    await expect(done).rejects.toThrow('inference failed');
    expect(drops).toEqual([
      [2, 'unsubscribed'],
      [3, 'unsubscribed'],
    ]);
    expect(model.calls).toHaveLength(1);
  });

  it('unsubscribing reports waiting items, ignores the batch in flight and starts no more', async () => {
    const drops: [number, DropReason][] = [];
    const model = fakeModel<number>();
    const src = new Subject<number>();
    const seen: number[][] = [];
    const onDrop = (v: number, r: DropReason): number => drops.push([v, r]);
    const sub = src
      .pipe(inferBatched(model.project, { maxBatch: 2, maxWaitMs: 0, maxQueue: 4, onDrop }))
      .subscribe((r) => seen.push(r));
    src.next(1);
    src.next(2);
    sub.unsubscribe();
    expect(drops).toEqual([[2, 'unsubscribed']]);
    expect(src.observed).toBe(false);
    model.calls[0]!.done.resolve();
    await tick();
    expect(seen).toEqual([]);
    expect(model.calls).toHaveLength(1);
  });

  it('waits maxWaitMs for a partial batch when the model is idle', async () => {
    const model = fakeModel<number>();
    const src = new Subject<number>();
    const sub = src.pipe(inferBatched(model.project, { maxBatch: 4, maxWaitMs: 30, maxQueue: 8 })).subscribe();
    src.next(1);
    src.next(2);
    expect(model.calls).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(model.calls.map((c) => c.batch)).toEqual([[1, 2]]);
    sub.unsubscribe();
  });

  it('with concurrency 2 keeps two batches in flight (one per worker), still bounded by maxQueue', async () => {
    const model = fakeModel<number>();
    const src = new Subject<number>();
    const drops: [number, DropReason][] = [];
    const sub = src.pipe(inferBatched(model.project, { maxBatch: 2, maxWaitMs: 0, maxQueue: 2, concurrency: 2, onDrop: (v, r) => void drops.push([v, r]) })).subscribe();
    for (let i = 1; i <= 8; i++) src.next(i);
    // Two batches run at once (maxWaitMs 0: each leaves as soon as a worker is free); of the
    // rest only the newest two wait.
    expect(model.calls.map((c) => c.batch)).toEqual([[1], [2]]);
    expect(drops.map(([v]) => v)).toEqual([3, 4, 5, 6]);
    model.calls[1]!.done.resolve();
    await tick();
    expect(model.calls.map((c) => c.batch)).toEqual([[1], [2], [7, 8]]);
    sub.unsubscribe();
  });
});
