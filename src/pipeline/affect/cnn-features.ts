import { defer, finalize, map, type OperatorFunction } from 'rxjs';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import { boundedConcatMap } from '../bounded-concat-map.js';
import type { CreditGate } from '../credit-gate.js';
import type { RecordSink } from '../stream-record.js';
import type { TrackOutput } from '../track-faces.js';
import type { AffectModel, CroppedRecord, FeaturesRecord } from './affect-records.js';
import { isShed } from './shed.js';

export interface CnnFeaturesDeps {
  readonly model: Pick<AffectModel, 'cnn'>;
  readonly streamId: string;
  /** Credits of an as-fast-as-possible source: one back per faces record, done or dropped. */
  readonly gate?: CreditGate;
  /** `dropped` (stage `affect-frame`): a face whose request was shed, or every face of a record dropped from the queue. */
  readonly report?: RecordSink<'dropped'>;
  /** A whole record was dropped from the queue (its tracks may have ended in it): the affect stage lets their windows go. */
  readonly onRecordDropped?: (record: TrackOutput) => void;
}

/**
 * Backbone + CNN heads per face. Requests go to the shared queue as soon as a record arrives, so
 * faces of several frames and streams batch together; results are taken strictly in frame order,
 * with at most `queueFrames` records waiting (the oldest is dropped beyond that).
 */
export function cnnFeatures(deps: CnnFeaturesDeps, opts: { readonly queueFrames: number }): OperatorFunction<CroppedRecord, FeaturesRecord> {
  const dropped = (count: number): void => deps.report?.({ kind: 'dropped', stage: 'affect-frame', count });
  const submit = ({ crops }: CroppedRecord): Promise<(FrameCache | undefined)[]> => {
    const all = Promise.all(
      crops.map((crop) =>
        deps.model.cnn(crop, deps.streamId).catch((err: unknown) => {
          if (!isShed(err)) throw err;
          dropped(1);
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
              dropped(record.faces.length);
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
