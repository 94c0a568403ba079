import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Releases frames at their presentation time, as a camera would deliver them. If the consumer
 * falls more than `maxLagSeconds` behind, the clock re-anchors instead of bursting to catch up.
 */
export class Pacer {
  private anchorWall = -1;
  private anchorPts = 0;

  constructor(private readonly maxLagSeconds = 1) {}

  async wait(pts: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now() / 1000;
    if (this.anchorWall < 0) {
      this.anchorWall = now;
      this.anchorPts = pts;
      return;
    }
    const due = this.anchorWall + (pts - this.anchorPts);
    const ahead = due - now;
    if (ahead < -this.maxLagSeconds || ahead > 5) {
      this.anchorWall = now;
      this.anchorPts = pts;
      return;
    }
    if (ahead > 0.001) await sleep(ahead * 1000, undefined, signal ? { signal } : {});
  }
}
