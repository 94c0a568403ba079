import { describe, expect, it } from 'vitest';
import { AnalyticsError, DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { backoffDelayMs, reconnecting, type ReconnectPolicy, type ReconnectingInfo } from './reconnect.js';
import { StallError, type Timers } from './stall-watchdog.js';
import type { RawFrame } from './video-source.js';

/** Virtual time: timers fire only inside advance(), with microtasks flushed between them. */
class VirtualTimers implements Timers {
  private t = 0;
  private seq = 0;
  private readonly queue: { at: number; seq: number; fn: () => void }[] = [];

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): () => void {
    const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.queue.push(entry);
    return () => {
      const i = this.queue.indexOf(entry);
      if (i >= 0) this.queue.splice(i, 1);
    };
  }

  get pending(): number {
    return this.queue.length;
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** One macrotask turn runs every queued microtask (promise chains of any depth settle). */
async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

let frameIndex = 0;
function frame(pts: number): RawFrame {
  return { pts, index: frameIndex++, sourceWidth: 4, sourceHeight: 2, data: new Uint8Array(24), width: 4, height: 2, decodeSeconds: 0 };
}

type Step = { frames: number[]; then: 'throw' | 'end' | 'hang'; error?: AnalyticsError };

/**
 * A scripted source: connection i yields `steps[i].frames`, then throws, ends or hangs until its
 * signal aborts. Records opens and finally-runs so tests can prove cleanup on every path.
 */
function scripted(steps: Step[]) {
  const stats = { opens: 0, finallies: 0, signals: [] as AbortSignal[] };
  const open = async function* (signal: AbortSignal): AsyncGenerator<RawFrame> {
    const step = steps[Math.min(stats.opens, steps.length - 1)]!;
    stats.opens++;
    stats.signals.push(signal);
    try {
      for (const pts of step.frames) yield frame(pts);
      if (step.then === 'throw') throw step.error ?? new SourceError(ErrorCodes.SOURCE_OPEN, `cannot connect #${stats.opens}`);
      if (step.then === 'hang') {
        // A blocked native read that only the abort releases.
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      }
    } finally {
      stats.finallies++;
    }
  };
  return { open, stats };
}

const policy: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, maxAttempts: 0, stallTimeoutMs: 5000, cleanupTimeoutMs: 1000 };

/** Pulls frames in the background, recording values and how it ended. */
function drain(gen: AsyncGenerator<RawFrame>) {
  const out = { pts: [] as number[], error: undefined as unknown, done: false };
  const finished = (async () => {
    try {
      for await (const f of gen) out.pts.push(f.pts);
    } catch (err) {
      out.error = err;
    } finally {
      out.done = true;
    }
  })();
  return { out, finished };
}

describe('backoffDelayMs', () => {
  it('draws full jitter under a bound that grows by the multiplier and stops at the cap', () => {
    const p = { ...policy, initialDelayMs: 100, multiplier: 3, maxDelayMs: 2000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(p, a, () => 0.5))).toEqual([50, 150, 450, 1000, 1000]);
    expect(backoffDelayMs(p, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(p, 3, () => 0.999)).toBe(899);
  });
});

describe('reconnecting', () => {
  it('retries with the jittered exponential sequence and gives up after maxAttempts with the last error', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([{ frames: [], then: 'throw' }]);
    const calls: ReconnectingInfo[] = [];
    const randoms = [0.5, 0.25, 1 - 1e-9, 0.5, 0.1];
    let r = 0;
    const gen = reconnecting(open, { ...policy, maxAttempts: 6 }, { onReconnecting: (i) => calls.push(i) }, { timers, random: () => randoms[r++] ?? 0 });
    const { out, finished } = drain(gen);
    await timers.advance(10_000);
    await finished;
    // Bounds 100, 200, 400, 800, 1000 (capped) times the injected draws.
    expect(calls.map((c) => c.delayMs)).toEqual([50, 50, 399, 400, 100]);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(stats.opens).toBe(6);
    expect(stats.finallies).toBe(6);
    const err = out.error as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.code).toBe(ErrorCodes.SOURCE_OPEN);
    expect(err.message).toMatch(/after 6 attempts: cannot connect #6/);
    expect((err.cause as Error).message).toBe('cannot connect #6');
    expect(err.context).toMatchObject({ reason: 'exhausted', attempts: 6 });
    expect(timers.pending).toBe(0);
  });

  it('keeps the code of the last error when giving up', async () => {
    const timers = new VirtualTimers();
    const last = new DecodeError(ErrorCodes.DECODE, 'bad stream');
    const { open } = scripted([{ frames: [], then: 'throw', error: last }]);
    const { out, finished } = drain(reconnecting(open, { ...policy, maxAttempts: 1 }, {}, { timers, random: () => 0 }));
    await timers.advance(0);
    await finished;
    expect((out.error as SourceError).code).toBe(ErrorCodes.DECODE);
    expect((out.error as SourceError).message).toBe('source unavailable after 1 attempt: bad stream');
  });

  it('resets the attempt count after a frame and reports recovery', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([
      { frames: [], then: 'throw' },
      { frames: [], then: 'throw' },
      { frames: [0, 0.04], then: 'end' },
      { frames: [], then: 'throw' },
      { frames: [0], then: 'hang' },
    ]);
    const calls: ReconnectingInfo[] = [];
    const recovered: number[] = [];
    const abort = new AbortController();
    const gen = reconnecting(
      open,
      { ...policy, maxAttempts: 3 },
      { onReconnecting: (i) => calls.push(i), onRecovered: (i) => recovered.push(i.attempts) },
      { timers, random: () => 1 - 1e-9, signal: abort.signal },
    );
    const { out, finished } = drain(gen);
    await timers.advance(3000);
    // 2 failures, frames (reset), 1 end + 1 failure: never 3 in a row, so no exhaustion.
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 1, 2]);
    expect(calls[2]!.error.message).toMatch(/closed the connection after 2 frames/);
    expect(calls.map((c) => c.delayMs)).toEqual([99, 199, 99, 199]);
    expect(recovered).toEqual([2, 2]);
    expect(out.pts).toHaveLength(3);
    abort.abort();
    await finished;
    await flush();
    expect(out.error).toBeUndefined();
    expect(stats.finallies).toBe(stats.opens);
  });

  it('keeps pts increasing across connections, leaving the outage gap in stream time', async () => {
    const timers = new VirtualTimers();
    const { open } = scripted([
      { frames: [0, 0.04, 0.08], then: 'throw' },
      { frames: [0, 0.04, 0.08], then: 'throw' },
      { frames: [5, 5.04, 1], then: 'hang' }, // a source clock that jumps back
    ]);
    const abort = new AbortController();
    const gen = reconnecting(open, { ...policy, initialDelayMs: 2000, maxDelayMs: 2000 }, {}, { timers, random: () => 0.5, signal: abort.signal });
    const { out, finished } = drain(gen);
    await timers.advance(3000); // less than the stall timeout: the third connection keeps hanging
    abort.abort();
    await finished;
    expect(out.pts).toHaveLength(9);
    for (let i = 1; i < out.pts.length; i++) expect(out.pts[i]!).toBeGreaterThan(out.pts[i - 1]!);
    // Each outage lasted 1000 ms of virtual time (the backoff): the next connection starts 1 s later.
    expect(out.pts[3]).toBeCloseTo(0.08 + 1, 6);
    expect(out.pts[6]).toBeCloseTo(out.pts[5]! + 1, 6);
    expect(out.pts[8]).toBeCloseTo(out.pts[7]! + 0.04, 6);
  });

  it('stops at once when aborted during the backoff sleep', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([{ frames: [], then: 'throw' }]);
    const abort = new AbortController();
    const gen = reconnecting(open, { ...policy, initialDelayMs: 60_000, maxDelayMs: 60_000 }, {}, { timers, random: () => 0.5, signal: abort.signal });
    const { out, finished } = drain(gen);
    await timers.advance(1000);
    expect(stats.opens).toBe(1);
    expect(timers.pending).toBe(1); // the 30 s backoff
    abort.abort();
    await finished; // no virtual time passes
    expect(out.error).toBeUndefined();
    expect(timers.now()).toBe(1000);
    expect(timers.pending).toBe(0);
    expect(stats.opens).toBe(1);
    expect(stats.finallies).toBe(1);
  });

  it('stops at once when aborted while a read is blocked, and still runs the generator finally', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([{ frames: [0], then: 'hang' }]);
    const abort = new AbortController();
    const { out, finished } = drain(reconnecting(open, policy, {}, { timers, signal: abort.signal }));
    await timers.advance(100);
    expect(out.pts).toEqual([0]);
    abort.abort();
    await finished; // no virtual time passes
    // Done means released: the connection's finally ran before the generator finished.
    expect(stats.finallies).toBe(1);
    expect(stats.signals[0]!.aborted).toBe(true);
    expect(timers.now()).toBe(100);
    expect(timers.pending).toBe(0);
  });

  it('on a stop, waits at most cleanupTimeoutMs for a connection that ignores its signal', async () => {
    const timers = new VirtualTimers();
    const open = async function* (): AsyncGenerator<RawFrame> {
      yield frame(0);
      await new Promise<never>(() => undefined);
    };
    const abort = new AbortController();
    const { out, finished } = drain(reconnecting(open, policy, {}, { timers, signal: abort.signal }));
    await timers.advance(100);
    abort.abort();
    await flush();
    expect(out.done).toBe(false);
    await timers.advance(999);
    expect(out.done).toBe(false);
    await timers.advance(1);
    await finished;
    expect(out.error).toBeUndefined();
  });

  it('trips the watchdog when no frame arrives, aborts the connection and reconnects', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([
      { frames: [0, 0.04], then: 'hang' },
      { frames: [], then: 'hang' }, // connects but never sends a frame
      { frames: [0], then: 'hang' },
    ]);
    const calls: ReconnectingInfo[] = [];
    const recovered: number[] = [];
    const abort = new AbortController();
    const gen = reconnecting(
      open,
      policy,
      { onReconnecting: (i) => calls.push(i), onRecovered: (i) => recovered.push(i.attempts) },
      { timers, random: () => 0, signal: abort.signal },
    );
    const { out, finished } = drain(gen);
    await timers.advance(4999);
    expect(calls).toHaveLength(0);
    await timers.advance(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.error).toBeInstanceOf(StallError);
    expect(calls[0]!.error.message).toMatch(/no frame received for 5000 ms/);
    expect(stats.signals[0]!.aborted).toBe(true);
    expect(stats.finallies).toBe(1);
    await timers.advance(5000);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect(recovered).toEqual([2]);
    expect(out.pts).toHaveLength(3);
    abort.abort();
    await finished;
    await flush();
    expect(stats.finallies).toBe(3);
  });

  it('does not count time the consumer holds a frame as a stall', async () => {
    const timers = new VirtualTimers();
    const { open } = scripted([{ frames: [0, 0.04, 0.08], then: 'hang' }]);
    const calls: ReconnectingInfo[] = [];
    const gen = reconnecting(open, policy, { onReconnecting: (i) => calls.push(i) }, { timers });
    expect((await gen.next()).value?.pts).toBe(0);
    await timers.advance(60_000); // a slow consumer
    expect((await gen.next()).value?.pts).toBe(0.04);
    expect(calls).toHaveLength(0);
    await gen.return(undefined);
    expect(timers.pending).toBe(0);
  });

  it('closes the connection when the consumer stops early', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([{ frames: [0, 0.04, 0.08], then: 'hang' }]);
    const gen = reconnecting(open, policy, {}, { timers });
    await gen.next();
    await gen.return(undefined);
    expect(stats.finallies).toBe(1);
    expect(stats.signals[0]!.aborted).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('retries forever with maxAttempts 0', async () => {
    const timers = new VirtualTimers();
    const { open, stats } = scripted([{ frames: [], then: 'end' }]);
    const abort = new AbortController();
    const { out, finished } = drain(reconnecting(open, { ...policy, maxAttempts: 0 }, {}, { timers, random: () => 1 - 1e-9, signal: abort.signal }));
    await timers.advance(60_000);
    expect(stats.opens).toBeGreaterThan(50);
    expect(out.done).toBe(false);
    abort.abort();
    await finished;
    expect(out.error).toBeUndefined();
    await flush();
    expect(stats.finallies).toBe(stats.opens);
  });

  it('wraps a non-AnalyticsError and a synchronous open failure as SourceError', async () => {
    const timers = new VirtualTimers();
    const open = (): AsyncGenerator<RawFrame> => {
      throw new TypeError('boom');
    };
    const { out, finished } = drain(reconnecting(open, { ...policy, maxAttempts: 2 }, {}, { timers, random: () => 0 }));
    await timers.advance(1000);
    await finished;
    expect(out.error).toBeInstanceOf(SourceError);
    expect((out.error as Error).message).toBe('source unavailable after 2 attempts: boom');
  });

  it('waits at most cleanupTimeoutMs for a connection whose read never returns', async () => {
    const timers = new VirtualTimers();
    let opens = 0;
    // Ignores its signal entirely: a native call nothing can interrupt.
    const open = async function* (): AsyncGenerator<RawFrame> {
      opens++;
      if (opens === 1) await new Promise<never>(() => undefined);
      yield frame(0);
      await new Promise<never>(() => undefined);
    };
    const abort = new AbortController();
    const { out, finished } = drain(reconnecting(open, { ...policy, cleanupTimeoutMs: 2000 }, {}, { timers, random: () => 0, signal: abort.signal }));
    await timers.advance(5000 + 1999);
    expect(opens).toBe(1);
    await timers.advance(1);
    expect(opens).toBe(2);
    expect(out.pts).toEqual([0]);
    abort.abort();
    await timers.advance(2000); // the stop waits for this connection too, as long as the bound
    await finished;
  });
});
