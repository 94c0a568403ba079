import { Subject, map, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { microBatch, type DropReason } from './micro-batch.js';

const newScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const join = map((b: string[]) => b.join(''));

/** Wraps a scheduler and counts scheduled actions that are still pending (timers not cancelled). */
function tracking(inner: SchedulerLike): { scheduler: SchedulerLike; pending: () => number } {
  const subs: Subscription[] = [];
  const scheduler: SchedulerLike = {
    now: () => inner.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      const s = inner.schedule(work, delay, state as S);
      subs.push(s);
      return s;
    },
  };
  return { scheduler, pending: () => subs.filter((s) => !s.closed).length };
}

describe('microBatch', () => {
  it('emits a batch as soon as maxBatch items wait, and flushes the rest on completion', () => {
    const ts = newScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-abc-de-fg-|');
      const out = src.pipe(microBatch({ maxBatch: 3, maxWaitMs: 100, maxQueue: 10, scheduler: ts }), join);
      expectObservable(out).toBe('---x----y--(z|)', { x: 'abc', y: 'def', z: 'g' });
      expectSubscriptions(src.subscriptions).toBe('^----------!');
    });
  });

  it('emits a partial batch maxWaitMs after its oldest item arrived', () => {
    const ts = newScheduler();
    ts.run(({ hot, expectObservable, time }) => {
      const src = hot('a-b------c--------|');
      const out = src.pipe(microBatch({ maxBatch: 3, maxWaitMs: time('-----|'), maxQueue: 10, scheduler: ts }), join);
      // a at 0 → due at 5; c at 9 → due at 14.
      expectObservable(out).toBe('-----x--------y---|', { x: 'ab', y: 'c' });
    });
  });

  it('releases batches only after ready, drops the OLDEST waiting items beyond maxQueue, keeps order', () => {
    const drops: [string, DropReason][] = [];
    const ts = newScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-ab-cdefg--------------|');
      const ready = hot('--------r---r---r---r---');
      const out = src.pipe(
        microBatch({ maxBatch: 2, maxWaitMs: 3, maxQueue: 4, ready, scheduler: ts, onDrop: (v, r) => drops.push([v, r]) }),
        join,
      );
      // [a,b] goes at once; c..g arrive while busy and c is dropped (5 waiting > 4); each ready
      // releases one batch; the last ready finds nothing waiting and completion follows.
      expectObservable(out).toBe('--x-----y---z----------|', { x: 'ab', y: 'de', z: 'fg' });
      expectSubscriptions(src.subscriptions).toBe('^----------------------!');
      expectSubscriptions(ready.subscriptions).toBe('^----------------------!');
    });
    expect(drops).toEqual([['c', 'overflow']]);
  });

  it('flushes waiting batches on completion as the consumer frees up, then completes', () => {
    const ts = newScheduler();
    ts.run(({ hot, expectObservable }) => {
      const src = hot('-abcde|');
      const ready = hot('---------r--r----');
      const out = src.pipe(microBatch({ maxBatch: 2, maxWaitMs: 50, maxQueue: 10, ready, scheduler: ts }), join);
      expectObservable(out).toBe('--x------y--(z|)', { x: 'ab', y: 'cd', z: 'e' });
    });
  });

  it('with a credit but not yet due, a waiting item goes at its deadline', () => {
    const ts = newScheduler();
    ts.run(({ hot, expectObservable }) => {
      const src = hot('-ab--c---------');
      const ready = hot('---r-----------');
      const out = src.pipe(microBatch({ maxBatch: 2, maxWaitMs: 4, maxQueue: 4, ready, scheduler: ts }), join);
      expectObservable(out).toBe('--x------y-----', { x: 'ab', y: 'c' });
    });
  });

  it('after an overflow drop, the deadline follows the oldest item still waiting', () => {
    const drops: string[] = [];
    const ts = newScheduler();
    ts.run(({ hot, expectObservable }) => {
      // a,b go at once; c..f wait and c drops (4 > 3); ready at 6 releases d,e; at 7 the credit is
      // back but f (arrived 5) is not due before 5 + 6 = 11 — not c's 2 + 6 = 8.
      const src = hot('abcdef--------');
      const ready = hot('------rr------');
      const out = src.pipe(
        microBatch({ maxBatch: 2, maxWaitMs: 6, maxQueue: 3, ready, scheduler: ts, onDrop: (v) => drops.push(v) }),
        join,
      );
      expectObservable(out).toBe('-x----y----z--', { x: 'ab', y: 'de', z: 'f' });
    });
    expect(drops).toEqual(['c']);
  });

  it('teardown unsubscribes source and ready, cancels the timer and reports waiting items', () => {
    const ts = newScheduler();
    const drops: [string, DropReason][] = [];
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-abc-----');
      const ready = hot('---------');
      const onDrop = (v: string, r: DropReason): number => drops.push([v, r]);
      const out = src.pipe(microBatch({ maxBatch: 5, maxWaitMs: 10, maxQueue: 5, ready, scheduler: ts, onDrop }), join);
      expectObservable(out, '^---!').toBe('-----');
      expectSubscriptions(src.subscriptions).toBe('^---!');
      expectSubscriptions(ready.subscriptions).toBe('^---!');
    });
    expect(drops).toEqual([
      ['a', 'unsubscribed'],
      ['b', 'unsubscribed'],
      ['c', 'unsubscribed'],
    ]);
  });

  it('a timer cancelled at teardown never fires (no pending action left behind)', () => {
    const ts = newScheduler();
    const { scheduler, pending } = tracking(ts);
    const src = new Subject<string>();
    const seen: string[][] = [];
    const sub = src.pipe(microBatch({ maxBatch: 5, maxWaitMs: 10, maxQueue: 5, scheduler })).subscribe((b) => seen.push(b));
    src.next('a');
    expect(pending()).toBe(1);
    sub.unsubscribe();
    expect(pending()).toBe(0);
    ts.flush();
    expect(seen).toEqual([]);
  });

  it('forwards a source error and reports the waiting items as dropped', () => {
    const drops: [string, DropReason][] = [];
    const ts = newScheduler();
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-ab-#');
      const onDrop = (v: string, r: DropReason): number => drops.push([v, r]);
      const out = src.pipe(microBatch({ maxBatch: 3, maxWaitMs: 10, maxQueue: 5, scheduler: ts, onDrop }), join);
      expectObservable(out).toBe('----#');
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
    expect(drops).toEqual([
      ['a', 'error'],
      ['b', 'error'],
    ]);
  });

  it('reports queue depth and rejects inconsistent options', () => {
    const depths: number[] = [];
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const onQueueDepth = (d: number): number => depths.push(d);
      const out = cold('abc|').pipe(microBatch({ maxBatch: 2, maxWaitMs: 10, maxQueue: 4, scheduler: ts, onQueueDepth }), join);
      expectObservable(out).toBe('-x-(y|)', { x: 'ab', y: 'c' });
    });
    expect(depths).toEqual([1, 2, 0, 1, 0]);
    expect(() => microBatch({ maxBatch: 4, maxWaitMs: 1, maxQueue: 3 })).toThrow(RangeError);
    expect(() => microBatch({ maxBatch: 0, maxWaitMs: 1, maxQueue: 3 })).toThrow(RangeError);
    expect(() => microBatch({ maxBatch: 1, maxWaitMs: -1, maxQueue: 3 })).toThrow(RangeError);
  });
});
