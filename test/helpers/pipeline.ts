import { filter, lastValueFrom, map, take, toArray } from 'rxjs';
import { asStreamId } from '../../src/core/ids.js';
import type { AnalyticsEvent, FacesEvent, TrackEvent } from '../../src/core/records.js';
import type { FaceDetector } from '../../src/models/face-detector/index.js';
import { runStream } from '../../src/pipeline/run-stream.js';

/** Runs a file through the daemon's real per-stream run (runStream), as fast as it goes. */
export async function runFile(
  detector: FaceDetector,
  file: string,
  opts: { loop?: boolean; maxEvents?: number; detectEveryFrames?: number } = {},
): Promise<AnalyticsEvent[]> {
  const events$ = runStream(
    { kind: 'file', path: file },
    {
      streamId: asStreamId('test'),
      realtime: false,
      loop: opts.loop ?? false,
      maxWidth: 640,
      queueFrames: 4,
      alignSize: 112,
      tracker: { iouThreshold: 0.2, maxGapFrames: 10 },
      detector: { detectEveryFrames: opts.detectEveryFrames ?? 3 },
    },
    { detector },
  ).pipe(
    filter((r) => r.kind === 'event'),
    map((r) => r.event),
  );
  return lastValueFrom((opts.maxEvents ? events$.pipe(take(opts.maxEvents)) : events$).pipe(toArray()));
}

export const facesEvents = (events: readonly AnalyticsEvent[]): FacesEvent[] => events.filter((e): e is FacesEvent => e.type === 'faces');
export const trackEvents = (events: readonly AnalyticsEvent[]): TrackEvent[] => events.filter((e): e is TrackEvent => e.type === 'track');
