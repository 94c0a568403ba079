import { Observable, type OperatorFunction } from 'rxjs';
import type { CreditGate } from './credit-gate.js';

export interface BoundedConcatMapOptions<T> {
  /** Items waiting while one is being processed; beyond it the oldest waiting item is dropped. */
  readonly capacity: number;
  readonly onDrop?: (dropped: T) => void;
  /** Returned once per item when it is finished or dropped (see CreditGate). */
  readonly gate?: CreditGate;
}

/**
 * concatMap with an explicit, bounded buffer: items are processed one at a time in order; when
 * more than `capacity` are waiting, the oldest is dropped (and reported), so a slow stage can
 * never grow memory. RxJS has no back-pressure, which is why this is not plain concatMap.
 */
export function boundedConcatMap<T, R>(project: (value: T) => Promise<R>, opts: BoundedConcatMapOptions<T>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const queue: T[] = [];
      let busy = false;
      let sourceDone = false;
      let closed = false;

      const finish = (): void => {
        if (sourceDone && !busy && queue.length === 0 && !closed) subscriber.complete();
      };

      /** Items that will never be processed are reported and their credit returned. */
      const discard = (items: readonly T[]): void => {
        for (const item of items) {
          opts.onDrop?.(item);
          opts.gate?.release();
        }
      };

      /** The item being processed, until its result is emitted or it is discarded. */
      let inFlight: { readonly item: T } | undefined;
      const giveUp = (): void => {
        discard(queue.splice(0));
        if (inFlight) discard([inFlight.item]);
        inFlight = undefined;
      };

      const fail = (err: unknown): void => {
        closed = true;
        // Counted before the error travels on, so the consumer sees them while it still listens.
        giveUp();
        subscriber.error(err);
      };

      const pump = async (): Promise<void> => {
        if (busy) return;
        busy = true;
        try {
          while (queue.length > 0 && !closed) {
            const current = { item: queue.shift() as T };
            inFlight = current;
            let result: R;
            try {
              result = await project(current.item);
            } catch (err) {
              if (!closed) fail(err);
              return;
            }
            // Torn down (or failed) while in flight: already given up, its result goes nowhere.
            if (inFlight !== current) return;
            inFlight = undefined;
            subscriber.next(result);
            opts.gate?.release();
          }
        } finally {
          busy = false;
        }
        finish();
      };

      const sub = source.subscribe({
        next: (value) => {
          queue.push(value);
          while (queue.length > opts.capacity) discard([queue.shift() as T]);
          void pump();
        },
        error: (err: unknown) => fail(err),
        complete: () => {
          sourceDone = true;
          finish();
        },
      });

      return () => {
        closed = true;
        sub.unsubscribe();
        // Whatever still waits is released, so a gated pump blocked on credit can exit.
        giveUp();
      };
    });
}
