import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import type { FrameRecord } from '../core/records.js';

/**
 * Keeps frames at most `fps` per second of stream time (so a 30 fps camera can be analysed at
 * 10 fps); skipped frames are reported to `onSkip` (for back-pressure credits and counters).
 * Uses pts, not the wall clock, so the same frames are kept however fast a file is read.
 */
export function sampleByPts(fps: number, onSkip?: (frame: FrameRecord) => void): MonoTypeOperatorFunction<FrameRecord> {
  if (!(fps > 0)) throw new RangeError(`analysis fps must be positive, got ${fps}`);
  const period = 1 / fps;
  let next = Number.NEGATIVE_INFINITY;
  return filter((frame) => {
    // Half a frame of slack so 29.97 fps sampled at 10 fps keeps every third frame, not jitter.
    if (frame.pts + period * 1e-3 < next) {
      onSkip?.(frame);
      return false;
    }
    // After a jump (loop restart, stall), restart the schedule from this frame.
    next = next === Number.NEGATIVE_INFINITY || frame.pts - next > period || frame.pts < next - period ? frame.pts + period : next + period;
    return true;
  });
}
