import { mergeMap, type OperatorFunction } from 'rxjs';
import type { AnalyticsEvent, FacesEvent, TrackEvent } from '../core/records.js';
import type { TrackOutput } from './track-faces.js';

const round = (v: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Track starts come before the frame's faces event, track ends after it. */
export function toEvents(): OperatorFunction<TrackOutput, AnalyticsEvent> {
  return mergeMap((record): AnalyticsEvent[] => {
    if (record.kind === 'tracks-closed') {
      const ts = new Date(record.wallTime).toISOString();
      return record.tracks.map(
        (t): TrackEvent => ({ type: 'track', streamId: record.streamId, trackId: t.trackId, state: 'ended', frame: record.frame, ts }),
      );
    }
    const { frame } = record;
    const ts = new Date(frame.wallTime).toISOString();
    const track = (state: 'started' | 'ended'): TrackEvent[] =>
      record.tracks
        .filter((t) => t.state === state)
        .map((t) => ({ type: 'track', streamId: frame.streamId, trackId: t.trackId, state, frame: frame.seq, ts }));
    const faces: FacesEvent = {
      type: 'faces',
      streamId: frame.streamId,
      frame: frame.seq,
      pts: round(frame.pts, 4),
      ts,
      width: frame.sourceWidth,
      height: frame.sourceHeight,
      faces: record.faces.map((f) => ({
        trackId: f.trackId,
        box: [round(f.box[0]), round(f.box[1]), round(f.box[2]), round(f.box[3])],
        score: round(f.score, 3),
        landmarks: f.landmarks.map(([x, y]) => [round(x), round(y)] as const),
      })),
    };
    return [...track('started'), faces, ...track('ended')];
  });
}
