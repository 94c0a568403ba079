import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

/** Why an item left without being batched. Only `overflow` is a load-shedding drop. */
export type DropReason = 'overflow' | 'error' | 'unsubscribed';

export interface MicroBatchOptions<T> {
  /** Largest batch; a batch is due as soon as this many items wait. */
  readonly maxBatch: number;
  /** A partial batch is due this long after its oldest item arrived. */
  readonly maxWaitMs: number;
  /**
   * Items allowed to wait (≥ maxBatch). Beyond it the OLDEST waiting item is dropped: under
   * overload the freshest frames are the ones worth analysing, and memory stays bounded however
   * slow the consumer is.
   */
  readonly maxQueue: number;
  /**
   * Called for every item that will not be in a batch, so nothing vanishes silently: `overflow`
   * (count these per stream as dropped windows), or still waiting when the source errored or the
   * subscriber unsubscribed.
   */
  readonly onDrop?: (item: T, reason: DropReason) => void;
  /** Waiting items after every change (for a queue-depth gauge). */
  readonly onQueueDepth?: (depth: number) => void;
  /**
   * Consumer handshake. Absent, batches go out as soon as they are due. Present, one batch may be
   * outstanding: the next is released only after `ready` emits (once per finished batch), so
   * items wait here — bounded by `maxQueue` — instead of piling up in a downstream buffer.
   */
  readonly ready?: Observable<unknown>;
  /** With `ready`: batches that may be outstanding at once (one per model worker; default 1). */
  readonly concurrency?: number;
  readonly scheduler?: SchedulerLike;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * Groups items into batches of at most `maxBatch`, emitted when full or `maxWaitMs` after the
 * batch's oldest item arrived; with `ready`, only when the consumer is free. Order is preserved;
 * on source completion the waiting items are flushed (as the consumer frees up), then it
 * completes. Teardown cancels the timer and reports waiting items to `onDrop`.
 */
export function microBatch<T>(opts: MicroBatchOptions<T>): OperatorFunction<T, T[]> {
  checkInt('maxBatch', opts.maxBatch, 1);
  checkInt('maxQueue', opts.maxQueue, opts.maxBatch);
  if (opts.concurrency !== undefined) checkInt('concurrency', opts.concurrency, 1);
  if (!(opts.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${opts.maxWaitMs}`);
  const scheduler = opts.scheduler ?? asyncScheduler;

  return (source) =>
    new Observable<T[]>((subscriber) => {
      const queue: T[] = [];
      const arrived: number[] = []; // scheduler.now() per waiting item, parallel to `queue`
      let credits = opts.ready ? (opts.concurrency ?? 1) : Number.POSITIVE_INFINITY;
      let sourceDone = false;
      let timer: Subscription | undefined;
      let timerAt = 0;

      const depth = (): void => opts.onQueueDepth?.(queue.length);

      const dropAll = (reason: DropReason): void => {
        const items = queue.splice(0);
        arrived.length = 0;
        for (const item of items) opts.onDrop?.(item, reason);
        if (items.length > 0) depth();
      };

      const cancelTimer = (): void => {
        timer?.unsubscribe();
        timer = undefined;
      };

      const headDeadline = (): number => (arrived[0] ?? Number.POSITIVE_INFINITY) + opts.maxWaitMs;

      const pump = (): void => {
        while (credits > 0 && queue.length > 0 && !subscriber.closed) {
          const due = queue.length >= opts.maxBatch || sourceDone || scheduler.now() >= headDeadline();
          if (!due) break;
          credits--;
          const batch = queue.splice(0, opts.maxBatch);
          arrived.splice(0, batch.length);
          depth();
          subscriber.next(batch); // may re-enter pump() synchronously through `ready`
        }
        if (sourceDone && queue.length === 0) {
          cancelTimer();
          subscriber.complete();
          return;
        }
        // Wake up for the head's deadline only if an emission could then happen; with no credit,
        // the next `ready` re-checks the deadline itself.
        if (queue.length === 0 || credits === 0) {
          cancelTimer();
        } else if (!timer || timerAt !== headDeadline()) {
          cancelTimer();
          timerAt = headDeadline();
          timer = scheduler.schedule(() => {
            timer = undefined;
            pump();
          }, Math.max(0, timerAt - scheduler.now()));
        }
      };

      const readySub = opts.ready?.subscribe({
        next: () => {
          credits++;
          pump();
        },
        error: (err: unknown) => {
          dropAll('error');
          subscriber.error(err);
        },
      });

      const sub = source.subscribe({
        next: (item) => {
          queue.push(item);
          arrived.push(scheduler.now());
          while (queue.length > opts.maxQueue) {
            arrived.shift();
            opts.onDrop?.(queue.shift() as T, 'overflow');
          }
          depth();
          pump();
        },
        error: (err: unknown) => {
          cancelTimer();
          dropAll('error');
          subscriber.error(err);
        },
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        cancelTimer();
        readySub?.unsubscribe();
        sub.unsubscribe();
        dropAll('unsubscribed');
      };
    });
}
