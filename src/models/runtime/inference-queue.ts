import { Subject, type Subscription } from 'rxjs';
import { ErrorCodes, InferenceError } from '../../core/errors.js';
import { inferBatched } from './infer-batched.js';
import type { DropReason } from './micro-batch.js';

export class InferenceDroppedError extends InferenceError {
  constructor(readonly reason: DropReason) {
    super(ErrorCodes.INFERENCE, `inference request dropped (${reason})`, { context: { reason } });
  }
}

interface Pending<J, R> {
  readonly job: J;
  readonly streamId: string;
  readonly enqueuedAt: number;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export interface InferenceQueueOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  /** Batches run at once (one per model worker; default 1). */
  readonly concurrency?: number;
  /** A request was dropped to keep the queue bounded (count it per stream). */
  readonly onDrop?: (streamId: string, reason: DropReason) => void;
  readonly onQueueDepth?: (depth: number) => void;
  /** One batch ran: its size and how long the model took. */
  readonly onBatch?: (size: number, seconds: number) => void;
}

/**
 * One inference queue shared by every stream: requests from all tracks and streams are
 * micro-batched (bounded by maxBatch / maxWaitMs), run one batch at a time, and when more than
 * maxQueue wait the oldest request is rejected with InferenceDroppedError, so a slow model can
 * never grow memory.
 */
export class InferenceQueue<J, R> {
  private readonly requests = new Subject<Pending<J, R>>();
  private readonly subscription: Subscription;
  private closed = false;

  constructor(run: (jobs: readonly J[]) => readonly R[] | Promise<readonly R[]>, opts: InferenceQueueOptions) {
    this.subscription = this.requests
      .pipe(
        inferBatched(
          async (batch: readonly Pending<J, R>[]) => {
            const t0 = performance.now();
            let results: readonly R[];
            try {
              results = await run(batch.map((p) => p.job));
            } catch (err) {
              // A failing batch fails its requests, not the queue: the next batch may be fine.
              for (const p of batch) p.reject(err);
              return;
            }
            opts.onBatch?.(batch.length, (performance.now() - t0) / 1000);
            batch.forEach((p, i) => p.resolve(results[i] as R));
          },
          {
            maxBatch: opts.maxBatch,
            maxWaitMs: opts.maxWaitMs,
            maxQueue: opts.maxQueue,
            ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
            onDrop: (p, reason) => {
              opts.onDrop?.(p.streamId, reason);
              p.reject(new InferenceDroppedError(reason));
            },
            ...(opts.onQueueDepth ? { onQueueDepth: opts.onQueueDepth } : {}),
          },
        ),
      )
      .subscribe();
  }

  submit(job: J, streamId: string): Promise<R> {
    if (this.closed) return Promise.reject(new InferenceDroppedError('unsubscribed'));
    return new Promise<R>((resolve, reject) => this.requests.next({ job, streamId, enqueuedAt: performance.now(), resolve, reject }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Waiting requests are rejected through onDrop ('unsubscribed').
    this.subscription.unsubscribe();
  }
}
