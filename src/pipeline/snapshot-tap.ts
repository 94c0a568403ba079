import { tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { TrackOutput } from './track-faces.js';

/** A copy of one analysed frame and its tracked faces (boxes in source-frame pixels). */
export interface SnapshotFrame {
  readonly seq: number;
  readonly pts: number;
  readonly wallTime: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly image: { readonly data: Uint8Array; readonly width: number; readonly height: number };
  readonly faces: readonly { readonly trackId: number; readonly box: readonly [number, number, number, number] }[];
}

/** Where a stream's snapshots go; `due` is asked first so frames are copied only when one is wanted. */
export interface SnapshotSink {
  due(nowMs: number): boolean;
  /** `nowMs` is the time `due` was asked with. */
  put(frame: SnapshotFrame, nowMs: number): void;
}

/**
 * Keeps a copy of the latest analysed frame (at most as often as the sink wants one) for
 * `/v1/streams/{id}/snapshot.jpg`. The copy is taken synchronously, while the tracked record is
 * handed on: later stages may pass the pixels on (to a worker, or back to a pool), and most frames
 * are never copied at all.
 */
export function captureSnapshot(sink: SnapshotSink, rec: TrackOutput, now: () => number = Date.now): void {
  if (rec.kind === 'tracks-closed') return;
  const t = now();
  if (!sink.due(t)) return;
  const f = rec.frame;
  sink.put(
    {
      seq: f.seq,
      pts: f.pts,
      wallTime: f.wallTime,
      sourceWidth: f.sourceWidth,
      sourceHeight: f.sourceHeight,
      image: { data: f.image.data.slice(), width: f.image.width, height: f.image.height },
      faces: rec.faces.map((x) => ({ trackId: x.trackId, box: [x.box[0], x.box[1], x.box[2], x.box[3]] })),
    },
    t,
  );
}

/** The same capture as an operator, for pipelines assembled without runStream. */
export function snapshotTap(sink: SnapshotSink, now: () => number = Date.now): MonoTypeOperatorFunction<TrackOutput> {
  return tap((rec) => captureSnapshot(sink, rec, now));
}
