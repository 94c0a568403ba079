import { defer, finalize, map, type OperatorFunction } from 'rxjs';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import { boundedConcatMap } from '../bounded-concat-map.js';
import type { CreditGate } from '../credit-gate.js';
import type { TrackOutput } from '../track-faces.js';
import type { AffectModel, CroppedRecord, FeaturesRecord } from './affect-records.js';
import { isShed } from './shed.js';

export interface CnnFeaturesDeps {
  readonly model: Pick<AffectModel, 'cnn'>;
  readonly streamId: string;
  /** Credits of an as-fast-as-possible source: one back per faces record, done or dropped. */
  readonly gate?: CreditGate;
  readonly onDropped?: (what: 'frame', count: number) => void;
  /** A whole record was dropped from the queue (its tracks may have ended in it). */
  readonly onRecordDropped?: (record: TrackOutput) => void;
}

/**
 * Backbone + CNN heads per face. Requests go to the shared queue as soon as a record arrives, so
 * faces of several frames and streams batch together; results are taken strictly in frame order,
 * with at most `queueFrames` records waiting (the oldest is dropped beyond that).
 */
export function cnnFeatures(deps: CnnFeaturesDeps, opts: { readonly queueFrames: number }): OperatorFunction<CroppedRecord, FeaturesRecord> {
  const submit = ({ crops }: CroppedRecord): Promise<(FrameCache | undefined)[]> => {
    const all = Promise.all(
      crops.map((crop) =>
        deps.model.cnn(crop, deps.streamId).catch((err: unknown) => {
          if (!isShed(err)) throw err;
          deps.onDropped?.('frame', 1);
          return undefined;
        }),
      ),
    );
    // Marked as handled: a record discarded at teardown must not leave an unhandled rejection;
    // a record still in the pipeline awaits `all` and sees the error.
    all.catch(() => undefined);
    return all;
  };
  return (source) =>
    defer(() => {
      // Faces records that still hold a source credit: each gives it back exactly once — when done,
      // dropped, or at teardown while still waiting (a stopped stream must not strand its source).
      const holding = new Set<TrackOutput>();
      const release = (record: TrackOutput): void => {
        if (holding.delete(record)) deps.gate?.release();
      };
      return source.pipe(
        map((cropped) => {
          if (cropped.record.kind === 'faces' && deps.gate) holding.add(cropped.record);
          return { record: cropped.record, pending: submit(cropped) };
        }),
        boundedConcatMap(
          async ({ record, pending }): Promise<FeaturesRecord> => {
            try {
              return { record, caches: await pending };
            } finally {
              release(record);
            }
          },
          {
            capacity: opts.queueFrames,
            onDrop: ({ record }) => {
              // Its CNN requests may still be queued; their results are simply not used.
              release(record);
              if (record.kind !== 'faces') return;
              deps.onDropped?.('frame', record.faces.length);
              deps.onRecordDropped?.(record);
            },
          },
        ),
        finalize(() => {
          for (const record of [...holding]) release(record);
        }),
      );
    });
}
