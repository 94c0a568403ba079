import { Subject, defer, from, mergeMap, tap, type OperatorFunction } from 'rxjs';
import { microBatch, type MicroBatchOptions } from './micro-batch.js';

export type InferBatchedOptions<T> = Omit<MicroBatchOptions<T>, 'ready'>;

/**
 * Micro-batching plus serial async inference: one inference queue (e.g. per backend) that runs
 * `project` on one batch at a time and emits each batch's result in order.
 *
 * Design: `microBatch` owns the only buffer (bounded by `maxQueue`, oldest dropped and reported);
 * `concatMap` runs the project; a private `ready` subject closes the loop — it fires when a
 * batch's inference has completed, which lets `microBatch` release the next batch. So `concatMap`
 * never buffers, batches form from whatever arrived while the model was busy (larger batches under
 * load, lower latency when idle), and a slow model cannot grow memory. RxJS has no back-pressure;
 * this handshake is it.
 *
 * A rejected project errors the stream (a typed InferenceError is the caller's to throw). Then, as
 * on unsubscribe, the waiting items are reported to `onDrop` with reason `unsubscribed` (the batch
 * stage was torn down from below) and the result of a batch still in flight is ignored.
 */
export function inferBatched<T, R>(
  project: (batch: readonly T[]) => Promise<R>,
  opts: InferBatchedOptions<T>,
): OperatorFunction<T, R> {
  return (source) =>
    defer(() => {
      // Per subscription: each subscriber gets its own queue and handshake.
      const ready = new Subject<void>();
      return source.pipe(
        microBatch({ ...opts, ready }),
        // Signal only on success: after an error or unsubscribe there is no next batch to release.
        // mergeMap never buffers either: microBatch releases at most `concurrency` batches before a
        // `ready`, so exactly that many run at once (1: in order, as concatMap).
        mergeMap((batch) => from(project(batch)).pipe(tap({ complete: () => ready.next() })), opts.concurrency ?? 1),
      );
    });
}
