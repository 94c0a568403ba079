import { Subject, lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { boundedConcatMap } from './bounded-concat-map.js';
import { CreditGate } from './credit-gate.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('boundedConcatMap', () => {
  it('processes in order, one at a time, and completes after the last', async () => {
    let running = 0;
    let maxRunning = 0;
    const out = await lastValueFrom(
      of(1, 2, 3, 4).pipe(
        boundedConcatMap(
          async (v) => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            await tick();
            running--;
            return v * 10;
          },
          { capacity: 10 },
        ),
        toArray(),
      ),
    );
    expect(out).toEqual([10, 20, 30, 40]);
    expect(maxRunning).toBe(1);
  });

  it('drops the oldest waiting items beyond capacity and reports them', async () => {
    const src = new Subject<number>();
    const gates = new Map<number, ReturnType<typeof deferred<void>>>();
    const dropped: number[] = [];
    const seen: number[] = [];
    const done = lastValueFrom(
      src.pipe(
        boundedConcatMap(
          async (v) => {
            const d = deferred<void>();
            gates.set(v, d);
            await d.promise;
            return v;
          },
          { capacity: 2, onDrop: (v) => dropped.push(v) },
        ),
        toArray(),
      ),
    );
    for (const v of [1, 2, 3, 4, 5]) src.next(v);
    src.complete();
    // 1 is in flight; 2,3 were pushed out by 4,5.
    expect(dropped).toEqual([2, 3]);
    gates.get(1)!.resolve();
    await tick();
    gates.get(4)!.resolve();
    await tick();
    gates.get(5)!.resolve();
    seen.push(...(await done));
    expect(seen).toEqual([1, 4, 5]);
  });

  it('returns one credit per item, processed or dropped, and on teardown', async () => {
    const gate = new CreditGate(0);
    let freed = 0;
    const origRelease = gate.release.bind(gate);
    gate.release = () => {
      freed++;
      origRelease();
    };
    const src = new Subject<number>();
    const block = deferred<void>();
    const sub = src.pipe(boundedConcatMap(async () => block.promise, { capacity: 1, gate })).subscribe();
    src.next(1); // in flight
    src.next(2); // waits
    src.next(3); // drops 2
    expect(freed).toBe(1);
    sub.unsubscribe(); // releases 3 (waiting) and 1 (in flight: its result will go nowhere)
    expect(freed).toBe(3);
    block.resolve();
    await tick();
    expect(freed).toBe(3); // never twice for the item that finished after teardown
  });

  it('forwards a failure of the project function as an error', async () => {
    const res = lastValueFrom(
      of(1, 2).pipe(
        boundedConcatMap(
          async (v) => {
            if (v === 2) throw new Error('boom');
            return v;
          },
          { capacity: 4 },
        ),
      ),
    );
    await expect(res).rejects.toThrow('boom');
  });

  it('reports every item it gives up on a failure, before the error goes downstream', async () => {
    const src = new Subject<number>();
    const block = deferred<void>();
    const dropped: number[] = [];
    const seen: string[] = [];
    src.pipe(boundedConcatMap(async (v) => (await block.promise, v), { capacity: 4, onDrop: (v) => (dropped.push(v), seen.push(`drop ${v}`)) })).subscribe({
      error: () => seen.push('error'),
    });
    src.next(1); // in flight
    src.next(2);
    src.next(3);
    src.error(new Error('source failed'));
    expect(dropped.sort()).toEqual([1, 2, 3]);
    expect(seen.at(-1)).toBe('error');
    block.resolve();
    await tick();
    expect(dropped).toHaveLength(3);
  });
});
