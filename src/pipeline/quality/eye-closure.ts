import type { TrackId } from '../../core/ids.js';

/**
 * Eye closure per track from the eye aspect ratio (EAR), a geometric measure of the face mesh,
 * not a trained AU45 detector:
 * - openness reference: the 90th percentile of the track's EAR over the window (its open eyes);
 * - closure = (open − EAR) / (open − closedEar), clamped to [0, 1]: 0 open, 1 as closed as the
 *   mesh draws a closed eye (the mesh never closes its eye contour fully: `closedEar`);
 * - a blink is a run of frames with closure ≥ `blinkClosure`, from its first closed frame to the
 *   first frame open again (its duration); one still closed when the track ends is not counted;
 * - PERCLOS: the share of time, over the last `windowS` seconds of the track, with closure
 *   above 0.8 ("eyes more than 80 % closed"), each frame's state lasting until the next frame;
 * - blink rate: blinks that started in the last `windowS` seconds, per minute of the time the
 *   track has been seen in that window.
 */
export interface EyeClosureOptions {
  readonly windowS: number;
  /** The mesh's EAR of a fully closed eye. */
  readonly closedEar: number;
  /** Closure at and above which the eyes count as closed for a blink. */
  readonly blinkClosure: number;
}

/**
 * closedEar: the mean EAR of both eyes on single_face.mp4 frames 26–27 (eyes seen closed in the
 * frames), 0.15 (open: 0.27); blinkClosure 0.5, halfway between open and closed.
 */
export const DEFAULT_EYE_CLOSURE: EyeClosureOptions = { windowS: 60, closedEar: 0.15, blinkClosure: 0.5 };

/** PERCLOS P80: "closed" means more than 80 % closed. */
const PERCLOS_CLOSURE = 0.8;

export interface EyeState {
  /** Mean EAR of the two eyes. */
  readonly ear: number;
  /** In [0, 1]; 0 until the track has an open-eye reference above `closedEar`. */
  readonly closure: number;
  readonly perclos: number;
  /** Blinks per minute. */
  readonly blinkRate: number;
}

export interface Blink {
  readonly trackId: TrackId;
  /** The first closed frame. */
  readonly frame: number;
  readonly pts: number;
  readonly wallTime: number;
  readonly durationS: number;
  /** The lowest mean EAR during the blink. */
  readonly minEar: number;
}

interface Sample {
  readonly pts: number;
  readonly ear: number;
  readonly perclosClosed: boolean;
}

interface TrackEyes {
  readonly samples: Sample[];
  /** The window's EARs, ascending (≤ windowS × fps values: insertion by binary search is cheap). */
  readonly sorted: number[];
  /** Blink start times in the window. */
  readonly blinkStarts: number[];
  closing?: { frame: number; pts: number; wallTime: number; minEar: number };
}

export class EyeClosure {
  private readonly tracks = new Map<TrackId, TrackEyes>();

  constructor(private readonly opts: EyeClosureOptions = DEFAULT_EYE_CLOSURE) {}

  /** One analysed frame of a track (frames in increasing pts); returns its state and the blink it completed, if any. */
  update(trackId: TrackId, at: { frame: number; pts: number; wallTime: number }, eyes: { left: number; right: number }): { state: EyeState; blink?: Blink } {
    let t = this.tracks.get(trackId);
    if (!t) this.tracks.set(trackId, (t = { samples: [], sorted: [], blinkStarts: [] }));
    const ear = (eyes.left + eyes.right) / 2;
    // The reference includes this frame, so a track's first frame is its own reference (closure 0).
    t.sorted.splice(lowerBound(t.sorted, ear), 0, ear);
    const open = t.sorted[Math.min(t.sorted.length - 1, Math.floor(0.9 * t.sorted.length))]!;
    const span = open - this.opts.closedEar;
    const closure = span > 0.02 ? Math.max(0, Math.min(1, (open - ear) / span)) : 0;
    t.samples.push({ pts: at.pts, ear, perclosClosed: closure > PERCLOS_CLOSURE });
    const from = at.pts - this.opts.windowS;
    while (t.samples.length > 1 && t.samples[0]!.pts < from) t.sorted.splice(lowerBound(t.sorted, t.samples.shift()!.ear), 1);
    while (t.blinkStarts.length > 0 && t.blinkStarts[0]! < from) t.blinkStarts.shift();

    let blink: Blink | undefined;
    if (closure >= this.opts.blinkClosure) {
      if (!t.closing) t.closing = { frame: at.frame, pts: at.pts, wallTime: at.wallTime, minEar: ear };
      else t.closing.minEar = Math.min(t.closing.minEar, ear);
    } else if (t.closing) {
      const c = t.closing;
      delete t.closing;
      blink = { trackId, frame: c.frame, pts: c.pts, wallTime: c.wallTime, durationS: at.pts - c.pts, minEar: c.minEar };
      t.blinkStarts.push(c.pts);
    }

    let closedTime = 0;
    for (let i = 1; i < t.samples.length; i++) if (t.samples[i - 1]!.perclosClosed) closedTime += t.samples[i]!.pts - t.samples[i - 1]!.pts;
    const seen = at.pts - t.samples[0]!.pts;
    const perclos = seen > 0 ? closedTime / seen : closure > PERCLOS_CLOSURE ? 1 : 0;
    const blinkRate = seen > 0 ? (t.blinkStarts.length * 60) / seen : 0;
    return { state: { ear, closure, perclos, blinkRate }, ...(blink ? { blink } : {}) };
  }

  /** The track ended: its state goes (a blink still in progress is not counted). */
  forget(trackId: TrackId): void {
    this.tracks.delete(trackId);
  }

  get size(): number {
    return this.tracks.size;
  }
}

/** The first index of `sorted` whose value is ≥ `v`. */
function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
