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

      const pump = async (): Promise<void> => {
        if (busy) return;
        busy = true;
        try {
          while (queue.length > 0 && !closed) {
            const item = queue.shift() as T;
            try {
              const result = await project(item);
              if (!closed) subscriber.next(result);
            } finally {
              opts.gate?.release();
            }
          }
        } catch (err) {
          closed = true;
          subscriber.error(err);
          return;
        } finally {
          busy = false;
        }
        finish();
      };

      const sub = source.subscribe({
        next: (value) => {
          queue.push(value);
          while (queue.length > opts.capacity) {
            const dropped = queue.shift() as T;
            opts.onDrop?.(dropped);
            opts.gate?.release();
          }
          void pump();
        },
        error: (err: unknown) => {
          closed = true;
          subscriber.error(err);
        },
        complete: () => {
          sourceDone = true;
          finish();
        },
      });

      return () => {
        closed = true;
        sub.unsubscribe();
        // Whatever still waits is released, so a gated pump blocked on credit can exit.
        for (const _ of queue.splice(0)) opts.gate?.release();
      };
    });
}
