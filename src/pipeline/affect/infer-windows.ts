import { concatMap, map, type OperatorFunction } from 'rxjs';
import type { TrackId } from '../../core/ids.js';
import type { RecordSink } from '../stream-record.js';
import { scoresOf } from './affect-events.js';
import type { AffectModel, Decided, DecidedRecord, WindowsRecord } from './affect-records.js';
import { isShed } from './shed.js';

export interface InferWindowsDeps {
  readonly model: Pick<AffectModel, 'window'>;
  readonly streamId: string;
  /** `dropped` (stage `affect-window`) for every window whose request was shed. */
  readonly report?: RecordSink<'dropped'>;
}

/**
 * GRU heads over the window jobs: requests go to the shared queue at once, results are awaited
 * in order without holding up the stages before (every item waits only on a window already in
 * the bounded GRU queue, so this stays bounded in effect). A job's `emit` positions become
 * decisions; a final job lets its track go.
 */
export function inferWindows(deps: InferWindowsDeps): OperatorFunction<WindowsRecord, DecidedRecord> {
  const run = async (w: WindowsRecord): Promise<DecidedRecord> => {
    const results = await Promise.all(
      w.jobs.map((job) =>
        deps.model.window(job.frames.map((f) => f.features.cache), deps.streamId).catch((err: unknown) => {
          if (!isShed(err)) throw err;
          deps.report?.({ kind: 'dropped', stage: 'affect-window', count: 1 });
          return undefined;
        }),
      ),
    );
    const decided: Decided[] = [...w.decided];
    const forget: TrackId[] = [...w.forget];
    w.jobs.forEach((job, j) => {
      const decisions = results[j];
      if (decisions) for (const i of job.emit) decided.push({ meta: job.frames[i]!.features.meta, scores: scoresOf(decisions[i]!) });
      if (job.final) forget.push(job.trackId);
    });
    return { decided, forget };
  };
  return (source) =>
    source.pipe(
      map((w) => {
        const later = w.jobs.length > 0 ? run(w) : Promise.resolve<DecidedRecord>({ decided: w.decided, forget: w.forget });
        later.catch(() => undefined); // handled here; awaited (and rethrown) below unless torn down first
        return later;
      }),
      concatMap((later) => later),
    );
}
