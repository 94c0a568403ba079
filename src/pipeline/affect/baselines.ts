/**
 * Per-person baselines (issue 23): for each track, what this face looks like at rest, so events can
 * say how far the person is from their own neutral rather than from the model's zero.
 *
 * Causal and per track: a percentile (default the median) of each output over a sliding window of
 * the track's analysed frames (`windowSeconds` of stream time, at most `maxSamples` frames),
 * reported once the track has been seen for `minSeconds`; before that the track has no baseline
 * and says so (`none`). A calibration (POST /v1/streams/{id}/tracks/{trackId}/baseline) takes the
 * next `seconds` of the track as its neutral: while it runs the state is `calibrating` (the running
 * baseline, if any, is still reported), then the percentile over those frames is the track's
 * baseline (`calibrated`) until the track ends. Frames that were not analysed (gated, dropped under
 * load) never enter the window, since nothing is observed for them.
 *
 * The values are whatever the event publishes (after smoothing, when on), so the difference an
 * event carries is exactly its value minus its baseline. Cost: per frame and output a binary search
 * and one shift of a sorted array of at most `maxSamples` numbers.
 */
import { BASELINE_STATES } from '../../core/event-schemas.js';
import type { TrackId } from '../../core/ids.js';

export interface BaselineSettings {
  /** Off: events carry no baseline. */
  readonly enabled: boolean;
  /** Stream-time span of the sliding window, seconds. */
  readonly windowSeconds: number;
  /** Percentile (0–100) of each output over the window: 50 = median, lower = a "resting" low. */
  readonly percentile: number;
  /** A track's running baseline is reported only once the track has been seen this long. */
  readonly minSeconds: number;
  /** Frames held per track, at most (the oldest leave first). */
  readonly maxSamples: number;
}

export const BASELINE_DEFAULTS: BaselineSettings = { enabled: true, windowSeconds: 60, percentile: 50, minSeconds: 5, maxSamples: 3600 };

export type BaselineState = (typeof BASELINE_STATES)[number];
export { BASELINE_STATES };

export interface BaselineReport {
  readonly state: BaselineState;
  /** Frames the reported baseline is taken over; with no baseline yet, the frames seen so far. */
  readonly samples: number;
  /** One baseline value per output, in the order the outputs were given; absent: no baseline yet. */
  readonly values?: Float64Array;
}

/** A multiset of numbers kept sorted, for a percentile in O(1) after an O(log n + n) update. */
class SortedWindow {
  private data: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.data = new Float64Array(Math.min(capacity, 64));
  }

  private lowerBound(v: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(v: number): void {
    if (this.size === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const i = this.lowerBound(v);
    this.data.copyWithin(i + 1, i, this.size);
    this.data[i] = v;
    this.size++;
  }

  remove(v: number): void {
    const i = this.lowerBound(v);
    if (i >= this.size || this.data[i] !== v) throw new Error('unreachable: a baseline sample left that was never inserted');
    this.data.copyWithin(i, i + 1, this.size);
    this.size--;
  }

  /** Linear interpolation between the order statistics around q·(n − 1) (numpy's default). */
  quantile(q: number): number {
    const pos = q * (this.size - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, this.size - 1);
    return this.data[lo]! + (pos - lo) * (this.data[hi]! - this.data[lo]!);
  }
}

/** One output vector per frame, oldest first, in a ring of at most `capacity` frames. */
class TrackWindow {
  readonly sorted: SortedWindow[];
  private times: Float64Array;
  /** Row-major: frame slot × width. */
  private rows: Float64Array;
  private head = 0;
  size = 0;

  constructor(
    private readonly width: number,
    private readonly capacity: number,
  ) {
    this.sorted = Array.from({ length: width }, () => new SortedWindow(capacity));
    const slots = Math.min(capacity, 64);
    this.times = new Float64Array(slots);
    this.rows = new Float64Array(slots * width);
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.times.length * 2);
    const times = new Float64Array(slots);
    const rows = new Float64Array(slots * this.width);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % this.times.length;
      times[i] = this.times[from]!;
      rows.set(this.rows.subarray(from * this.width, (from + 1) * this.width), i * this.width);
    }
    this.times = times;
    this.rows = rows;
    this.head = 0;
  }

  push(t: number, values: ArrayLike<number>): void {
    if (this.size === this.capacity) this.dropOldest();
    if (this.size === this.times.length) this.grow();
    const slot = (this.head + this.size) % this.times.length;
    this.times[slot] = t;
    const at = slot * this.width;
    for (let d = 0; d < this.width; d++) {
      const v = values[d]!;
      this.rows[at + d] = v;
      this.sorted[d]!.insert(v);
    }
    this.size++;
  }

  /** Frames at or before `t` leave. */
  evictUpTo(t: number): void {
    while (this.size > 0 && this.times[this.head]! <= t) this.dropOldest();
  }

  private dropOldest(): void {
    const at = this.head * this.width;
    for (let d = 0; d < this.width; d++) this.sorted[d]!.remove(this.rows[at + d]!);
    this.head = (this.head + 1) % this.times.length;
    this.size--;
  }

  quantiles(q: number): Float64Array {
    const out = new Float64Array(this.width);
    for (let d = 0; d < this.width; d++) out[d] = this.sorted[d]!.quantile(q);
    return out;
  }
}

interface TrackState {
  readonly window: TrackWindow;
  /** Stream time of the track's first observed frame. */
  readonly since: number;
  /** Seconds asked for by a calibration that has not started yet (starts at the track's next frame). */
  pending?: number;
  calibration?: { readonly until: number; readonly window: TrackWindow };
  calibrated?: { readonly values: Float64Array; readonly samples: number };
}

/** The baselines of one stream run's tracks (state per subscription, released when a track ends). */
export class TrackBaselines {
  private readonly tracks = new Map<TrackId, TrackState>();
  private readonly q: number;

  constructor(private readonly settings: BaselineSettings) {
    if (!(settings.percentile >= 0 && settings.percentile <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${settings.percentile}`);
    if (!Number.isInteger(settings.maxSamples) || settings.maxSamples < 1) throw new RangeError(`maxSamples must be a positive integer, got ${settings.maxSamples}`);
    this.q = settings.percentile / 100;
  }

  get size(): number {
    return this.tracks.size;
  }

  /** Whether `trackId` has been observed and not forgotten (a calibration can only target such a track). */
  has(trackId: TrackId): boolean {
    return this.tracks.has(trackId);
  }

  /** Takes this track's next `seconds` of stream time as its neutral. False: no such track (yet, or any more). */
  calibrate(trackId: TrackId, seconds: number): boolean {
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new RangeError(`calibration seconds must be positive, got ${seconds}`);
    const s = this.tracks.get(trackId);
    if (!s) return false;
    s.pending = seconds;
    delete s.calibration;
    return true;
  }

  /**
   * One analysed frame of a track (`t` = pts, increasing per track): its values (the same outputs
   * in the same order on every frame: AU, EXPR and VA concatenated by the caller) enter, its
   * baseline comes out.
   */
  observe(trackId: TrackId, t: number, values: ArrayLike<number>): BaselineReport {
    let s = this.tracks.get(trackId);
    // A broken model's NaN must not enter a sorted window (it would never compare equal to leave it).
    for (let d = 0; d < values.length; d++) if (!Number.isFinite(values[d])) return s ? this.report(s, t) : { state: 'none', samples: 0 };
    if (!s) {
      s = { window: new TrackWindow(values.length, this.settings.maxSamples), since: t };
      this.tracks.set(trackId, s);
    }
    if (s.pending !== undefined) {
      s.calibration = { until: t + s.pending, window: new TrackWindow(values.length, this.settings.maxSamples) };
      delete s.pending;
    }
    const cal = s.calibration;
    if (cal && t >= cal.until) {
      // Complete: the frames of [start, until) are the neutral; this frame already is after it.
      if (cal.window.size > 0) s.calibrated = { values: cal.window.quantiles(this.q), samples: cal.window.size };
      delete s.calibration;
    }
    s.calibration?.window.push(t, values);
    s.window.evictUpTo(t - this.settings.windowSeconds);
    s.window.push(t, values);
    return this.report(s, t);
  }

  private report(s: TrackState, t: number): BaselineReport {
    if (s.calibrated && !s.calibration) return { state: 'calibrated', samples: s.calibrated.samples, values: s.calibrated.values };
    const running = t - s.since >= this.settings.minSeconds ? { samples: s.window.size, values: s.window.quantiles(this.q) } : undefined;
    const last = s.calibrated ?? running;
    if (s.calibration) return { state: 'calibrating', samples: last?.samples ?? 0, ...(last ? { values: last.values } : {}) };
    return running ? { state: 'running', ...running } : { state: 'none', samples: s.window.size };
  }

  forget(trackId: TrackId): void {
    this.tracks.delete(trackId);
  }
}
