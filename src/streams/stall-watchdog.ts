import { ErrorCodes, SourceError } from '../core/errors.js';

/**
 * The timer primitives the reconnect logic needs, injected so unit tests run in virtual time
 * (the same idea as an RxJS scheduler). `now()` is in milliseconds.
 */
export interface Timers {
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it (idempotent). */
  schedule(fn: () => void, ms: number): () => void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  schedule(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

/** Resolves after `ms`, or at once (without rejecting) when `signal` aborts. Never leaves a timer behind. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = timers.schedule(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** No frame for `stallTimeoutMs`: the source is connected (or connecting) but silent. */
export class StallError extends SourceError {
  constructor(readonly stallTimeoutMs: number) {
    super(ErrorCodes.SOURCE_OPEN, `no frame received for ${stallTimeoutMs} ms (stalled source)`, {
      context: { reason: 'stalled', stallTimeoutMs },
    });
  }
}

export interface StallWatchdog {
  /** (Re)starts the countdown: call when waiting for a frame begins. */
  arm(): void;
  /** Stops the countdown: call while the consumer holds a frame, and when done. */
  disarm(): void;
}

/**
 * Fires `onStall` once the countdown runs out. A countdown that is disarmed while the consumer
 * is busy does not count the consumer's time against the source, so back-pressure never looks
 * like a stalled camera. `timeoutMs <= 0` disables the watchdog.
 */
export function stallWatchdog(timeoutMs: number, onStall: (err: StallError) => void, timers: Timers = realTimers): StallWatchdog {
  let cancel: (() => void) | undefined;
  const disarm = (): void => {
    cancel?.();
    cancel = undefined;
  };
  return {
    arm() {
      disarm();
      if (timeoutMs > 0) {
        cancel = timers.schedule(() => {
          cancel = undefined;
          onStall(new StallError(timeoutMs));
        }, timeoutMs);
      }
    },
    disarm,
  };
}
