import type { TrackId } from '../../core/ids.js';

/**
 * Per-track sliding windows for the CNN-RNN heads (seed spec §7.3), cut live.
 *
 * Emit rule — each frame is reported by the FIRST window that contains it (the seed's
 * `np.unique(return_index=True)` merge, applied online):
 * - the first window is due as soon as a track has `seqLen` frames and reports all of them;
 * - after that a window of the last `seqLen` frames is due every `stride` new frames and reports
 *   only its newest `stride` frames (the older ones were reported by an earlier window);
 * - `end(trackId)` flushes the frames not yet reported with one window of the last `seqLen`
 *   frames, or — for a track shorter than `seqLen` — its frames padded by repeating the last one
 *   (padded positions are never reported).
 * With `stride === seqLen` this is exactly the seed's offline windowing (`offlineWindows`), so live
 * and offline results agree frame for frame. With `stride < seqLen` a frame is reported with the
 * least latency (at its first window, near the window's end) rather than with the most BiGRU
 * context; the trade-off is latency vs. backward context, and reporting each frame once keeps the
 * event stream free of revisions.
 *
 * Ownership: `F` is meant to be a plain `Float32Array` of per-frame CNN features (copied out of the
 * tensor by the CNN stage), so windows hold no native memory: eviction and teardown need no
 * disposal, and overlapping jobs may share the same frame objects (treat them as immutable). The
 * GRU stage stacks a job's features into a tensor that it owns.
 */

export interface WindowFrame<F> {
  /** Frame number in the stream (analysed frames; gaps are allowed, order must increase). */
  readonly frame: number;
  /** Stream time in seconds. */
  readonly pts: number;
  readonly features: F;
}

export interface WindowJob<F> {
  readonly trackId: TrackId;
  /** Exactly `seqLen` frames, oldest first; a short track's window repeats its last frame. */
  readonly frames: readonly WindowFrame<F>[];
  /** Indices into `frames` whose results are reported now, ascending; never a padded position. */
  readonly emit: readonly number[];
  /** True for the flush at track end (or stream end). */
  readonly final: boolean;
}

export interface TrackWindowsOptions<F> {
  readonly seqLen: number;
  /** New frames between windows after the first; 1 ≤ stride ≤ seqLen. */
  readonly stride: number;
  /**
   * Tracks held at once per stream, so at most `maxTracks × seqLen` frames are held. A frame of a
   * new track arriving when all slots are taken is refused (reported to `onDrop`) rather than
   * evicting a live track: with more faces than slots, eviction would thrash (every evicted track
   * comes back as "new", never fills a window, and forces a padded flush each time), whereas
   * refusing keeps the first `maxTracks` faces analysed. A refused track is admitted once a slot
   * frees (from its next frame on).
   */
  readonly maxTracks: number;
  readonly onDrop?: (trackId: TrackId, item: WindowFrame<F>) => void;
}

interface TrackState<F> {
  /** The last ≤ seqLen frames, oldest first (seqLen is small, so shift() is cheap). */
  readonly ring: WindowFrame<F>[];
  total: number;
  /** The newest `unreported` frames in the ring have not been reported yet. */
  unreported: number;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

export class TrackWindows<F> {
  private readonly tracks = new Map<TrackId, TrackState<F>>();
  private readonly seqLen: number;
  private readonly stride: number;

  constructor(private readonly opts: TrackWindowsOptions<F>) {
    checkInt('seqLen', opts.seqLen, 1);
    checkInt('stride', opts.stride, 1);
    checkInt('maxTracks', opts.maxTracks, 1);
    // A stride beyond seqLen would leave frames in no window at all.
    if (opts.stride > opts.seqLen) throw new RangeError(`stride (${opts.stride}) must not exceed seqLen (${opts.seqLen})`);
    this.seqLen = opts.seqLen;
    this.stride = opts.stride;
  }

  /** Tracks currently held. */
  get size(): number {
    return this.tracks.size;
  }

  /** Frames currently held (≤ maxTracks × seqLen). */
  get heldFrames(): number {
    let n = 0;
    for (const s of this.tracks.values()) n += s.ring.length;
    return n;
  }

  /** Adds a frame of `trackId`; returns the window that became due, if any (at most one). */
  push(trackId: TrackId, item: WindowFrame<F>): WindowJob<F>[] {
    let state = this.tracks.get(trackId);
    if (!state) {
      if (this.tracks.size >= this.opts.maxTracks) {
        this.opts.onDrop?.(trackId, item);
        return [];
      }
      state = { ring: [], total: 0, unreported: 0 };
      this.tracks.set(trackId, state);
    }
    const last = state.ring[state.ring.length - 1];
    // Out-of-order frames would silently corrupt the sequence the GRU sees: a caller bug.
    if (last && !(item.frame > last.frame)) throw new RangeError(`track ${trackId}: frame ${item.frame} after frame ${last.frame}`);
    state.ring.push(item);
    if (state.ring.length > this.seqLen) state.ring.shift();
    state.total++;
    state.unreported++;
    const due = state.total === this.seqLen || (state.total > this.seqLen && state.unreported === this.stride);
    if (!due) return [];
    return [this.cut(trackId, state, false)];
  }

  /** Flushes the frames of `trackId` not yet reported and forgets the track. */
  end(trackId: TrackId): WindowJob<F>[] {
    const state = this.tracks.get(trackId);
    if (!state) return [];
    this.tracks.delete(trackId);
    return state.unreported > 0 ? [this.cut(trackId, state, true)] : [];
  }

  /** Flushes every track (stream end), in the order the tracks were first seen. */
  endAll(): WindowJob<F>[] {
    return [...this.tracks.keys()].flatMap((id) => this.end(id));
  }

  /** Forgets everything without flushing (teardown: nothing is disposed, see the file comment). */
  clear(): void {
    this.tracks.clear();
  }

  private cut(trackId: TrackId, state: TrackState<F>, final: boolean): WindowJob<F> {
    const ring = state.ring;
    const frames = [...ring];
    const lastFrame = ring[ring.length - 1] as WindowFrame<F>;
    while (frames.length < this.seqLen) frames.push(lastFrame);
    const emit = range(ring.length - state.unreported, ring.length);
    state.unreported = 0;
    return { trackId, frames, emit, final };
  }
}

/** A window of the seed's offline plan: frame `min(start + k, length − 1)` at position k. */
export interface OfflineWindow {
  readonly start: number;
  /** Positions whose frames occur here first (the earlier window wins); may be empty. */
  readonly emit: readonly number[];
}

/**
 * The seed's offline windows over a sequence of `length` frames (§7.3): ⌊L/seqLen⌋ + 1 windows at
 * stride seqLen, the one whose end reaches or passes L replaced by the last seqLen frames (so the
 * final window duplicates its predecessor when L is a multiple of seqLen and then reports
 * nothing), a short sequence padded by repeating its last frame. Kept here, next to the live
 * windows, so tests can prove live(stride = seqLen) ≡ offline.
 */
export function offlineWindows(length: number, seqLen: number): OfflineWindow[] {
  checkInt('length', length, 0);
  checkInt('seqLen', seqLen, 1);
  if (length === 0) return [];
  const out: OfflineWindow[] = [];
  let reported = 0; // frames [0, reported) already have their first occurrence
  const count = Math.floor(length / seqLen) + 1;
  for (let i = 0; i < count; i++) {
    const start = Math.max(0, i * seqLen + seqLen >= length ? length - seqLen : i * seqLen);
    const end = Math.min(start + seqLen, length); // frames past `end` are padding
    out.push({ start, emit: range(Math.max(reported, start) - start, end - start) });
    reported = Math.max(reported, end);
  }
  return out;
}
