import { lastValueFrom, toArray, take } from 'rxjs';
import { asStreamId } from '../../src/core/ids.js';
import type { AnalyticsEvent, FacesEvent, TrackEvent } from '../../src/core/records.js';
import type { FaceDetector } from '../../src/models/face-detector/index.js';
import { buildPipeline } from '../../src/pipeline/build-pipeline.js';
import { CreditGate } from '../../src/pipeline/credit-gate.js';
import { fromSource } from '../../src/pipeline/from-source.js';
import { openSource } from '../../src/streams/open-source.js';

/** Runs a file through the daemon's real per-stream pipeline, as fast as it goes. */
export async function runFile(
  detector: FaceDetector,
  file: string,
  opts: { loop?: boolean; maxEvents?: number; detectEveryFrames?: number } = {},
): Promise<AnalyticsEvent[]> {
  const gate = new CreditGate(5);
  const frames = fromSource((signal) => openSource({ kind: 'file', path: file }, { realtime: false, loop: opts.loop ?? false, maxWidth: 640, signal }), {
    streamId: asStreamId('test'),
    gate,
  });
  const session = detector.createSession({ detectEveryFrames: opts.detectEveryFrames ?? 3 });
  const events$ = buildPipeline(frames, { session, gate }, { queueFrames: 4, alignSize: 112, tracker: { iouThreshold: 0.2, maxGapFrames: 10 } });
  return lastValueFrom((opts.maxEvents ? events$.pipe(take(opts.maxEvents)) : events$).pipe(toArray()));
}

export const facesEvents = (events: readonly AnalyticsEvent[]): FacesEvent[] => events.filter((e): e is FacesEvent => e.type === 'faces');
export const trackEvents = (events: readonly AnalyticsEvent[]): TrackEvent[] => events.filter((e): e is TrackEvent => e.type === 'track');
