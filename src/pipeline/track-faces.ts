import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamId } from '../core/ids.js';
import type { AlignedFace, FacesRecord, TrackChange, TrackedRecord } from '../core/records.js';
import { FaceTracker, type FaceTrackerOptions } from './face-tracker.js';
import type { RecordSink } from './stream-record.js';

/** Emitted once when the stream completes or fails: tracks still alive end here. */
export interface TracksClosedRecord {
  readonly kind: 'tracks-closed';
  readonly streamId: StreamId;
  readonly frame: number;
  readonly wallTime: number;
  readonly tracks: readonly TrackChange[];
}

export type TrackOutput = TrackedRecord | TracksClosedRecord;

export interface TrackFacesOptions extends FaceTrackerOptions {
  /** `tracks` (the live count) after every frame, and 0 once the tracks end on any path. */
  readonly report?: RecordSink<'tracks'>;
}

export function trackFaces(opts: TrackFacesOptions): OperatorFunction<FacesRecord<AlignedFace>, TrackOutput> {
  const reportActive = (active: number): void => opts.report?.({ kind: 'tracks', active });
  return (source) =>
    new Observable<TrackOutput>((subscriber) => {
      const tracker = new FaceTracker(opts);
      let last: FacesRecord<AlignedFace> | undefined;
      const closeAll = (): void => {
        const tracks = tracker.endAll();
        reportActive(0);
        if (last && tracks.length > 0) {
          subscriber.next({ kind: 'tracks-closed', streamId: last.frame.streamId, frame: last.frame.seq, wallTime: Date.now(), tracks });
        }
      };
      const sub = source.subscribe({
        next: (record) => {
          last = record;
          const { faces, changes } = tracker.update(record.frame.seq, record.faces);
          reportActive(tracker.active);
          subscriber.next({ ...record, faces, tracks: changes });
        },
        // Every track that started ends, whichever way the stream stops.
        error: (err: unknown) => {
          closeAll();
          subscriber.error(err);
        },
        complete: () => {
          closeAll();
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        // Unsubscribed: nobody hears the ends any more, but the count must not stay up.
        if (tracker.active > 0) {
          tracker.endAll();
          reportActive(0);
        }
      };
    });
}
