import { defer, mergeMap, type OperatorFunction } from 'rxjs';
import type { AnalyticsEvent, BlinkEvent, FacesEvent, TrackedFace, TrackEvent } from '../core/records.js';
import { EyeClosure, type EyeClosureOptions, type EyeState } from './quality/eye-closure.js';
import type { TrackOutput } from './track-faces.js';

const round = (v: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** A face's `quality` as faces events (and predict rows) report it: rounded, with its track's eye state. */
export function qualityOf(f: TrackedFace, eyes: EyeState | undefined): FacesEvent['faces'][number]['quality'] {
  const q = f.quality;
  if (!q) return { score: round(f.score, 3), interocularPx: 0, sharpness: 0, gated: [] };
  return {
    score: round(q.score, 3),
    interocularPx: round(q.interocularPx),
    sharpness: round(q.sharpness),
    ...(q.pose ? { pose: { yaw: round(q.pose.yaw), pitch: round(q.pose.pitch), roll: round(q.pose.roll) } } : {}),
    ...(q.eyes && eyes
      ? { eyes: { left: round(q.eyes.left, 3), right: round(q.eyes.right, 3), closure: round(eyes.closure, 3), perclos: round(eyes.perclos, 3), blinkRate: round(eyes.blinkRate) } }
      : {}),
    gated: q.gated,
  };
}

/**
 * Track starts come before the frame's faces event, track ends after it, blinks (completed in
 * this frame) between the two. Eye-closure state lives per subscription and per track.
 */
export function toEvents(opts: { readonly eyes?: EyeClosureOptions } = {}): OperatorFunction<TrackOutput, AnalyticsEvent> {
  return (source) =>
    defer(() => {
      const closure = new EyeClosure(opts.eyes);
      return source.pipe(
        mergeMap((record): AnalyticsEvent[] => {
          if (record.kind === 'tracks-closed') {
            const ts = new Date(record.wallTime).toISOString();
            for (const t of record.tracks) closure.forget(t.trackId);
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
          const blinks: BlinkEvent[] = [];
          const faces: FacesEvent = {
            type: 'faces',
            streamId: frame.streamId,
            frame: frame.seq,
            pts: round(frame.pts, 4),
            ts,
            width: frame.sourceWidth,
            height: frame.sourceHeight,
            faces: record.faces.map((f) => {
              const eyes = f.quality?.eyes && closure.update(f.trackId, { frame: frame.seq, pts: frame.pts, wallTime: frame.wallTime }, f.quality.eyes);
              if (eyes && eyes.blink) {
                const b = eyes.blink;
                blinks.push({
                  type: 'blink',
                  streamId: frame.streamId,
                  trackId: b.trackId,
                  frame: b.frame,
                  pts: round(b.pts, 4),
                  ts: new Date(b.wallTime).toISOString(),
                  durationMs: round(b.durationS * 1000),
                  minEyeAspect: round(b.minEar, 3),
                });
              }
              return {
                trackId: f.trackId,
                box: [round(f.box[0]), round(f.box[1]), round(f.box[2]), round(f.box[3])],
                score: round(f.score, 3),
                landmarks: f.landmarks.map(([x, y]) => [round(x), round(y)] as const),
                quality: qualityOf(f, eyes ? eyes.state : undefined),
              };
            }),
          };
          for (const t of record.tracks) if (t.state === 'ended') closure.forget(t.trackId);
          return [...track('started'), faces, ...blinks, ...track('ended')];
        }),
      );
    });
}
