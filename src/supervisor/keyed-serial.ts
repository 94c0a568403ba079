/**
 * Runs operations one after another per key (a per-id async mutex): a stream's add, restart,
 * delete and restore never interleave, so no two of them can each start a run of the same stream.
 * Different keys run concurrently. A failed operation does not block the ones queued after it.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, op: () => T | Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget the key once its queue drained, so ids that come and go do not accumulate.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Keys with an operation queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
