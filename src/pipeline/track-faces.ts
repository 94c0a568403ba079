import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamId } from '../core/ids.js';
import type { AlignedFace, FacesRecord, TrackChange, TrackedRecord } from '../core/records.js';
import { FaceTracker, type FaceTrackerOptions } from './face-tracker.js';

/** Emitted once when the stream completes: tracks still alive end here. */
export interface TracksClosedRecord {
  readonly kind: 'tracks-closed';
  readonly streamId: StreamId;
  readonly frame: number;
  readonly wallTime: number;
  readonly tracks: readonly TrackChange[];
}

export type TrackOutput = TrackedRecord | TracksClosedRecord;

export function trackFaces(
  opts: FaceTrackerOptions & { readonly onActiveTracks?: (n: number) => void },
): OperatorFunction<FacesRecord<AlignedFace>, TrackOutput> {
  return (source) =>
    new Observable<TrackOutput>((subscriber) => {
      const tracker = new FaceTracker(opts);
      let last: FacesRecord<AlignedFace> | undefined;
      const sub = source.subscribe({
        next: (record) => {
          last = record;
          const { faces, changes } = tracker.update(record.frame.seq, record.faces);
          opts.onActiveTracks?.(tracker.active);
          subscriber.next({ ...record, faces, tracks: changes });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          const tracks = tracker.endAll();
          opts.onActiveTracks?.(0);
          if (last && tracks.length > 0) {
            subscriber.next({ kind: 'tracks-closed', streamId: last.frame.streamId, frame: last.frame.seq, wallTime: Date.now(), tracks });
          }
          subscriber.complete();
        },
      });
      return () => sub.unsubscribe();
    });
}
