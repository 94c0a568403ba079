import { AnalyticsError, ErrorCodes, SourceError } from '../core/errors.js';
import { realTimers, sleep, stallWatchdog, type StallError, type Timers } from './stall-watchdog.js';
import type { RawFrame } from './video-source.js';

export interface ReconnectPolicy {
  /** Upper bound of the first backoff delay (full jitter draws from [0, bound)). */
  readonly initialDelayMs: number;
  /** Cap on the backoff bound. */
  readonly maxDelayMs: number;
  /** Growth of the bound per consecutive failure. */
  readonly multiplier: number;
  /** Consecutive failed attempts (no frame at all) before giving up; 0 = retry forever. */
  readonly maxAttempts: number;
  /** No frame for this long ⇒ abort the connection and reconnect; 0 disables the watchdog. */
  readonly stallTimeoutMs: number;
  /**
   * How long a reconnect waits for the previous connection's cleanup (its generator's `finally`)
   * before opening the next one anyway; default 15 000. Waiting keeps one native session per
   * stream: every blocked FFmpeg call holds one of libuv's 4 pool threads, so piling up abandoned
   * opens would stall all streams (and fs). readVideo's RTSP input is interrupted within ~100 ms;
   * the bound only guards against a source whose cleanup hangs.
   */
  readonly cleanupTimeoutMs?: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
  maxAttempts: 0,
  stallTimeoutMs: 15_000,
  cleanupTimeoutMs: 15_000,
});

export interface ReconnectingInfo {
  /** Consecutive failed attempts so far (1 for the first failure). */
  readonly attempt: number;
  /** The backoff chosen before the next attempt. */
  readonly delayMs: number;
  readonly error: AnalyticsError;
}

export interface ReconnectHooks {
  /** A connection failed, ended or stalled; the next attempt starts after `delayMs`. */
  readonly onReconnecting?: (info: ReconnectingInfo) => void;
  /** The first frame arrived after `attempts` failed attempts. */
  readonly onRecovered?: (info: { readonly attempts: number }) => void;
}

export interface ReconnectEnv {
  /** Stops everything at once: frames, the backoff sleep and the current connection. */
  readonly signal?: AbortSignal;
  readonly timers?: Timers;
  /** Uniform in [0, 1); injected so backoff sequences are testable. */
  readonly random?: () => number;
}

/** Full-jitter exponential backoff: uniform in [0, min(max, initial · multiplier^(attempt-1))). */
export function backoffDelayMs(policy: ReconnectPolicy, attempt: number, random: () => number): number {
  const bound = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.floor(random() * bound);
}

function toSourceError(err: unknown): AnalyticsError {
  if (err instanceof AnalyticsError) return err;
  return new SourceError(ErrorCodes.SOURCE_OPEN, err instanceof Error ? err.message : String(err), { cause: err });
}

/** A live source that ends has in fact disconnected (the server closed the session). */
function endedError(frames: number): SourceError {
  return new SourceError(ErrorCodes.SOURCE_OPEN, `the source closed the connection after ${frames} frames`, {
    context: { reason: 'ended', frames },
  });
}

function exhaustedError(last: AnalyticsError, attempts: number): SourceError {
  return new SourceError(last.code, `source unavailable after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last.message}`, {
    cause: last,
    context: { reason: 'exhausted', attempts },
  });
}

/**
 * Keeps a live source alive: reopens it after errors, disconnects and stalls with full-jitter
 * exponential backoff, and re-bases timestamps so `pts` keeps increasing across connections
 * (after an outage by at least the wall time that passed, so time-based stages see the gap).
 * Throws a SourceError once `maxAttempts` consecutive attempts failed without a frame.
 * Each connection's generator is closed (its `finally` runs) on every path.
 */
export async function* reconnecting(
  open: (signal: AbortSignal) => AsyncGenerator<RawFrame>,
  policy: ReconnectPolicy,
  hooks: ReconnectHooks = {},
  env: ReconnectEnv = {},
): AsyncGenerator<RawFrame> {
  const timers = env.timers ?? realTimers;
  const random = env.random ?? Math.random;
  const outer = env.signal;
  let failures = 0;
  let ptsOffset = 0;
  // Frame numbers continue across connections too (each connection counts from 0).
  let indexOffset = 0;
  let lastIndex = -1;
  let lastPts = Number.NEGATIVE_INFINITY;
  let lastStep = 1 / 25;
  let lastFrameAt = 0;

  while (!outer?.aborted) {
    const inner = new AbortController();
    const forwardAbort = (): void => inner.abort(outer?.reason);
    outer?.addEventListener('abort', forwardAbort, { once: true });
    // Why this connection must be abandoned, and the waker of the `next()` being awaited. A fresh
    // promise per frame, not Promise.race against one long-lived promise: every race() leaves a
    // reaction on the unsettled promise that pins its result, i.e. every frame of the connection.
    let interruptedBy: 'stalled' | 'aborted' | undefined;
    let wake: ((reason: 'stalled' | 'aborted') => void) | undefined;
    const interrupt = (reason: 'stalled' | 'aborted'): void => {
      interruptedBy ??= reason;
      wake?.(reason);
    };
    const onOuterAbort = (): void => interrupt('aborted');
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let stall: StallError | undefined;
    const watchdog = stallWatchdog(
      policy.stallTimeoutMs,
      (err) => {
        stall = err;
        // Aborting the inner signal makes node-av interrupt a blocked av_read_frame().
        inner.abort(err);
        interrupt('stalled');
      },
      timers,
    );
    let gen: AsyncGenerator<RawFrame> | undefined;
    let frames = 0;
    let error: AnalyticsError | undefined;
    try {
      watchdog.arm();
      gen = open(inner.signal);
      for (;;) {
        if (interruptedBy === 'aborted' || outer?.aborted) return;
        if (interruptedBy === 'stalled') throw stall;
        const pending = gen.next();
        // An abandoned `next()` settles later into an already-settled promise: a no-op, and its
        // rejection is handled.
        const r = await new Promise<IteratorResult<RawFrame, unknown> | 'stalled' | 'aborted'>((resolve, reject) => {
          wake = resolve;
          pending.then(resolve, reject);
        });
        wake = undefined;
        if (r === 'aborted' || outer?.aborted) return;
        if (r === 'stalled') throw stall;
        if (r.done) {
          error = endedError(frames);
          break;
        }
        watchdog.disarm();
        const raw = r.value;
        if (frames === 0) {
          if (Number.isFinite(lastPts)) {
            // Re-base the new connection's clock right after the last frame we emitted, or later
            // by the outage's wall time.
            const gapSec = Math.max(lastStep, (timers.now() - lastFrameAt) / 1000);
            ptsOffset = lastPts + gapSec - raw.pts;
          }
          indexOffset = lastIndex + 1 - raw.index;
          if (failures > 0) hooks.onRecovered?.({ attempts: failures });
          failures = 0;
        }
        frames++;
        let pts = raw.pts + ptsOffset;
        if (pts <= lastPts) {
          // A source whose own clock jumped back: keep the output strictly increasing.
          ptsOffset += lastPts + lastStep - pts;
          pts = lastPts + lastStep;
        } else if (frames > 1) {
          // The frame interval within one connection (never the outage gap) sizes later steps.
          lastStep = pts - lastPts;
        }
        lastPts = pts;
        lastFrameAt = timers.now();
        const index = raw.index + indexOffset;
        lastIndex = index;
        yield pts === raw.pts && index === raw.index ? raw : { ...raw, pts, index };
        watchdog.arm();
      }
    } catch (err) {
      error = toSourceError(err);
    } finally {
      watchdog.disarm();
      outer?.removeEventListener('abort', forwardAbort);
      outer?.removeEventListener('abort', onOuterAbort);
      inner.abort();
      // Also on a stop: whoever awaits our return() (the supervisor's removal) relies on native
      // resources being free by then. The inner signal is aborted, so this is quick.
      if (gen) await closeConnection(gen, policy.cleanupTimeoutMs ?? 15_000, timers);
    }
    if (outer?.aborted) return;
    failures++;
    const last = error ?? endedError(frames);
    if (policy.maxAttempts > 0 && failures >= policy.maxAttempts) throw exhaustedError(last, failures);
    const delayMs = backoffDelayMs(policy, failures, random);
    hooks.onReconnecting?.({ attempt: failures, delayMs, error: last });
    await sleep(timers, delayMs, outer);
  }
}

/**
 * Runs the connection generator's `finally` (native cleanup). `return()` on a generator with a
 * pending `next()` is queued behind it, so it completes only once that read gives up; wait for it
 * at most `waitMs` (the cleanup still runs whenever the read returns).
 */
async function closeConnection(gen: AsyncGenerator<RawFrame>, waitMs: number, timers: Timers): Promise<void> {
  const closing = gen.return(undefined).then(
    () => undefined,
    () => undefined,
  );
  let cancel: (() => void) | undefined;
  const timeout = new Promise<void>((resolve) => (cancel = timers.schedule(resolve, waitMs)));
  await Promise.race([closing, timeout]);
  cancel?.();
}
