/**
 * Back-pressure for pull-based (as-fast-as-possible) sources: the pump takes a credit before
 * reading a frame, the analysis stage returns it when the frame is done or dropped, so at most
 * `credits` frames are ever in flight.
 */
export class CreditGate {
  private waiters: (() => void)[] = [];

  constructor(private credits: number) {}

  async acquire(): Promise<void> {
    if (this.credits > 0) {
      this.credits--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.credits++;
  }

  /** Wakes every waiter (used at teardown so a pump blocked on credit can exit). */
  releaseAll(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
