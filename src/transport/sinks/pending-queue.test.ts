import { describe, expect, it } from 'vitest';
import { PendingQueue, type PendingMessage } from './pending-queue.js';

const msg = (n: number): PendingMessage => ({ id: `m${n}`, topic: 't', payload: String(n), enqueuedAt: n });

describe('PendingQueue', () => {
  it('drops the oldest queued message beyond the bound and says how many', () => {
    const q = new PendingQueue(3);
    expect([1, 2, 3].map((n) => q.push(msg(n)))).toEqual([0, 0, 0]);
    expect(q.push(msg(4))).toBe(1);
    expect(q.take(10).map((m) => m.payload)).toEqual(['2', '3', '4']);
  });

  it('never drops a message in flight; unacknowledged ones return to the head in order', () => {
    const q = new PendingQueue(3);
    for (const n of [1, 2, 3]) q.push(msg(n));
    const batch = q.take(2);
    expect(q.push(msg(4))).toBe(1); // 3 went: 1 and 2 are in flight
    expect(q.size).toBe(3);
    expect(q.requeue(batch)).toBe(0);
    expect(q.take(10).map((m) => m.payload)).toEqual(['1', '2', '4']);
  });

  it('when everything held is in flight, a new message is the one that goes', () => {
    const q = new PendingQueue(2);
    q.push(msg(1));
    q.push(msg(2));
    const batch = q.take(2);
    expect(q.push(msg(3))).toBe(1);
    expect(q.size).toBe(2);
    expect(q.requeue(batch)).toBe(0);
    expect(q.take(10).map((m) => m.payload)).toEqual(['1', '2']);
  });

  it('settles acknowledged messages and reports the oldest pending enqueue time', () => {
    const q = new PendingQueue(10);
    for (const n of [5, 6, 7]) q.push(msg(n));
    const batch = q.take(1);
    expect(q.oldestEnqueuedAt()).toBe(5);
    q.settle(batch);
    expect(q.oldestEnqueuedAt()).toBe(6);
    expect(q.clear()).toBe(2);
    expect(q.oldestEnqueuedAt()).toBeUndefined();
  });
});
