import { map, type OperatorFunction } from 'rxjs';
import type { TrackId } from '../../core/ids.js';
import { scoresOf, type FrameMeta } from './affect-events.js';
import type { AffectModel, Decided, FeaturesRecord, Held, WindowsRecord } from './affect-records.js';
import type { TrackWindows, WindowJob } from './track-windows.js';

export interface AffectWindowsDeps {
  readonly model: Pick<AffectModel, 'decideCnn'>;
  readonly streamId: string;
  /** CNN-RNN models: the per-track window rings (absent for CNN models, decided per frame). */
  readonly windows?: TrackWindows<Held>;
}

/**
 * Features into decisions or windows: a CNN model is decided per frame here; a CNN-RNN model's
 * features enter each track's ring in frame order and come out as GRU window jobs (every `stride`
 * frames, and a flush when the track ends).
 */
export function affectWindows(deps: AffectWindowsDeps): OperatorFunction<FeaturesRecord, WindowsRecord> {
  const { windows } = deps;
  const ended = (ids: readonly TrackId[], jobs: WindowJob<Held>[], forget: TrackId[]): void => {
    for (const id of ids) {
      const flush = windows ? windows.end(id) : [];
      // A final job lets the track go downstream once decided; a track with none (a CNN model, or
      // a CNN-RNN track whose every frame went out with its last window) is let go here, or its
      // baseline and smoother state would stay for ever.
      if (flush.length > 0) jobs.push(...flush);
      else forget.push(id);
    }
  };
  return map(({ record, caches }) => {
    const decided: Decided[] = [];
    const jobs: WindowJob<Held>[] = [];
    const forget: TrackId[] = [];
    if (record.kind === 'tracks-closed') {
      ended(record.tracks.map((t) => t.trackId), jobs, forget);
      return { decided, jobs, forget };
    }
    const { frame } = record;
    record.faces.forEach((face, i) => {
      const cache = caches[i];
      if (!cache) return;
      const meta: FrameMeta = { streamId: deps.streamId, trackId: face.trackId, frame: frame.seq, pts: frame.pts, wallTime: frame.wallTime, decodedAt: frame.decodedAt };
      if (windows) jobs.push(...windows.push(face.trackId, { frame: frame.seq, pts: frame.pts, features: { cache, meta } }));
      else decided.push({ meta, scores: scoresOf(deps.model.decideCnn(cache)) });
    });
    ended(record.tracks.filter((t) => t.state === 'ended').map((t) => t.trackId), jobs, forget);
    return { decided, jobs, forget };
  });
}
