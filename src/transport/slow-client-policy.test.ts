import { afterEach, describe, expect, it, vi } from 'vitest';
import { SlowClientPolicy, type PolicySocket } from './slow-client-policy.js';

function socket(): PolicySocket & { sent: string[]; closed?: [number, string]; terminated: boolean; bufferedAmount: number } {
  return {
    sent: [],
    terminated: false,
    bufferedAmount: 0,
    send(t: string) {
      this.sent.push(t);
    },
    close(code: number, reason: string) {
      this.closed = [code, reason];
    },
    terminate() {
      this.terminated = true;
    },
  };
}

afterEach(() => vi.useRealTimers());

describe('SlowClientPolicy', () => {
  it('sends while the backlog is under the limit, drops above it, and recovers', () => {
    const s = socket();
    const p = new SlowClientPolicy(s, { maxBufferedBytes: 100, maxBehindMs: 1000 });
    expect(p.deliver('a', 0)).toBe('sent');
    s.bufferedAmount = 101;
    expect(p.deliver('b', 10)).toBe('dropped');
    expect(p.deliver('c', 500)).toBe('dropped');
    s.bufferedAmount = 50;
    expect(p.deliver('d', 900)).toBe('sent');
    // Behind again: the clock restarts, so 1000 ms more are allowed.
    s.bufferedAmount = 500;
    expect(p.deliver('e', 1000)).toBe('dropped');
    expect(p.deliver('f', 1900)).toBe('dropped');
    expect(s.sent).toEqual(['a', 'd']);
    expect(s.closed).toBeUndefined();
  });

  it('closes a client that stays behind with 1008, then cuts it off if it does not read', () => {
    vi.useFakeTimers();
    const s = socket();
    const p = new SlowClientPolicy(s, { maxBufferedBytes: 10, maxBehindMs: 200, terminateAfterMs: 5000 });
    s.bufferedAmount = 11;
    expect(p.deliver('a', 1000)).toBe('dropped');
    expect(p.deliver('b', 1150)).toBe('dropped');
    expect(p.deliver('c', 1201)).toBe('closed');
    expect(s.closed).toEqual([1008, 'client too slow']);
    expect(p.deliver('d', 1300)).toBe('closed');
    expect(s.terminated).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(s.terminated).toBe(true);
    expect(s.sent).toEqual([]);
  });
});
