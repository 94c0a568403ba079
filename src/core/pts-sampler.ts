/**
 * Keeps frames at most `fps` per second of stream time (so a 30 fps camera can be analysed at
 * 10 fps). Uses pts, not the wall clock, so the same frames are kept however fast a file is read.
 */
export class PtsSampler {
  private readonly period: number;
  private next = Number.NEGATIVE_INFINITY;

  constructor(fps: number) {
    if (!(fps > 0)) throw new RangeError(`analysis fps must be positive, got ${fps}`);
    this.period = 1 / fps;
  }

  keep(pts: number): boolean {
    const p = this.period;
    const eps = p * 1e-3;
    // First frame, a jump back before the last kept frame (loop restart), or a long gap
    // (reconnect, stall): start a fresh schedule here.
    if (this.next === Number.NEGATIVE_INFINITY || pts < this.next - p - eps || pts - this.next > p) {
      this.next = pts + p;
      return true;
    }
    // A little slack so 29.97 fps sampled at 10 fps keeps every third frame without jitter.
    if (pts + eps < this.next) return false;
    this.next += p;
    return true;
  }
}
