/** A message waiting for (or on its way to) a broker. */
export interface PendingMessage {
  /** Unique per daemon process and sink: brokers that de-duplicate (NATS JetStream) key on it. */
  readonly id: string;
  readonly topic: string;
  readonly payload: string;
  /** Monotonic milliseconds when the event was handed to the sink (for the lag gauge). */
  readonly enqueuedAt: number;
}

/**
 * The bounded buffer of one sink. Messages handed to the broker leave the queue as "in flight"
 * and come back to its head if the broker does not acknowledge them, so a lost connection loses
 * nothing the bound allows to keep. Overflow drops the oldest queued message, never one in flight
 * (it may already be delivered), and says how many went.
 */
export class PendingQueue {
  private queued: PendingMessage[] = [];
  private head = 0;
  private readonly inFlight = new Set<PendingMessage>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be ≥ 1');
  }

  /** Adds a message; returns the number of older messages dropped to make room (0 or 1). */
  push(message: PendingMessage): number {
    this.queued.push(message);
    return this.dropOverflow();
  }

  /** Moves up to `max` of the oldest queued messages in flight. */
  take(max: number): PendingMessage[] {
    const n = Math.min(max, this.queuedCount);
    const batch = this.queued.slice(this.head, this.head + n);
    this.head += n;
    for (const m of batch) this.inFlight.add(m);
    this.compact();
    return batch;
  }

  /** The broker acknowledged these. */
  settle(batch: readonly PendingMessage[]): void {
    for (const m of batch) this.inFlight.delete(m);
  }

  /** The broker did not acknowledge these: back to the head, oldest first, ahead of newer ones. */
  requeue(batch: readonly PendingMessage[]): number {
    const back = batch.filter((m) => this.inFlight.delete(m));
    this.queued = [...back, ...this.queued.slice(this.head)];
    this.head = 0;
    // Requeued messages count against the bound like any other; the oldest go first.
    return this.dropOverflow();
  }

  /** Empties the queue (shutdown); returns how many were still waiting or in flight. */
  clear(): number {
    const n = this.size;
    this.queued = [];
    this.head = 0;
    this.inFlight.clear();
    return n;
  }

  get queuedCount(): number {
    return this.queued.length - this.head;
  }

  get size(): number {
    return this.queuedCount + this.inFlight.size;
  }

  /** Enqueue time of the oldest message not yet acknowledged, or undefined when empty. */
  oldestEnqueuedAt(): number | undefined {
    let oldest = this.queued[this.head]?.enqueuedAt;
    for (const m of this.inFlight) if (oldest === undefined || m.enqueuedAt < oldest) oldest = m.enqueuedAt;
    return oldest;
  }

  /** Drops the oldest queued messages (never those in flight) beyond the bound; returns how many. */
  private dropOverflow(): number {
    let dropped = 0;
    while (this.size > this.capacity && this.queuedCount > 0) {
      this.head++;
      dropped++;
    }
    this.compact();
    return dropped;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queued.length) {
      this.queued = this.queued.slice(this.head);
      this.head = 0;
    }
  }
}
