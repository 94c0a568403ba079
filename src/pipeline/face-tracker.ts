import { iou } from '../core/geometry.js';
import type { TrackId } from '../core/ids.js';
import type { AlignedFace, Box, TrackChange, TrackedFace } from '../core/records.js';

interface Track {
  readonly id: TrackId;
  box: Box;
  lastSeen: number;
}

export interface FaceTrackerOptions {
  readonly iouThreshold: number;
  /** Frames (by decoded-frame number) a track may go unseen before it ends. */
  readonly maxGapFrames: number;
}

/** Centre distance relative to the larger box side: catches fast motion that kills IoU. */
function centreAffinity(a: Box, b: Box): number {
  const d = Math.hypot(a[0] + a[2] / 2 - (b[0] + b[2] / 2), a[1] + a[3] / 2 - (b[1] + b[3] / 2));
  const scale = Math.max(a[2], a[3], b[2], b[3], 1);
  return d / scale;
}

/**
 * Per-stream identity: greedy one-to-one matching by IoU (then by centre distance for fast
 * moves), tracks survive `maxGapFrames` unseen frames, ids are never reused within a stream.
 */
export class FaceTracker {
  private tracks: Track[] = [];
  private nextId = 1;

  constructor(private readonly opts: FaceTrackerOptions) {}

  get active(): number {
    return this.tracks.length;
  }

  update(frame: number, faces: readonly AlignedFace[]): { faces: TrackedFace[]; changes: TrackChange[] } {
    const pairs: { t: number; f: number; score: number }[] = [];
    this.tracks.forEach((track, t) =>
      faces.forEach((face, f) => {
        const overlap = iou(track.box, face.box);
        if (overlap >= this.opts.iouThreshold) pairs.push({ t, f, score: 1 + overlap });
        else if (centreAffinity(track.box, face.box) < 0.5) pairs.push({ t, f, score: 1 - centreAffinity(track.box, face.box) });
      }),
    );
    pairs.sort((a, b) => b.score - a.score);
    const faceTrack = new Array<number>(faces.length).fill(-1);
    const trackTaken = new Set<number>();
    for (const p of pairs) {
      if (faceTrack[p.f] !== -1 || trackTaken.has(p.t)) continue;
      faceTrack[p.f] = p.t;
      trackTaken.add(p.t);
    }
    const changes: TrackChange[] = [];
    const out: TrackedFace[] = faces.map((face, f) => {
      const ti = faceTrack[f]!;
      let track: Track;
      if (ti >= 0) {
        track = this.tracks[ti]!;
      } else {
        track = { id: this.nextId++ as TrackId, box: face.box, lastSeen: frame };
        this.tracks.push(track);
        changes.push({ trackId: track.id, state: 'started' });
      }
      track.box = face.box;
      track.lastSeen = frame;
      return { ...face, trackId: track.id };
    });
    this.tracks = this.tracks.filter((track) => {
      if (frame - track.lastSeen <= this.opts.maxGapFrames) return true;
      changes.push({ trackId: track.id, state: 'ended' });
      return false;
    });
    return { faces: out, changes };
  }

  /** Ends every live track (stream end). */
  endAll(): TrackChange[] {
    const changes = this.tracks.map((t) => ({ trackId: t.id, state: 'ended' as const }));
    this.tracks = [];
    return changes;
  }
}
