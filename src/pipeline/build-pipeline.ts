import type { Observable } from 'rxjs';
import type { AnalyticsEvent, FrameRecord } from '../core/records.js';
import { alignFaces } from './align-faces.js';
import { detectFaces, type DetectFacesDeps } from './detect-faces.js';
import { toEvents } from './to-events.js';
import { trackFaces } from './track-faces.js';

export interface PipelineOptions {
  readonly queueFrames: number;
  readonly alignSize: number;
  readonly tracker: { readonly iouThreshold: number; readonly maxGapFrames: number };
  readonly onActiveTracks?: (n: number) => void;
}

/** detect → align → track → events for one stream. */
export function buildPipeline(frames: Observable<FrameRecord>, deps: DetectFacesDeps, opts: PipelineOptions): Observable<AnalyticsEvent> {
  return frames.pipe(
    detectFaces(deps, { queueFrames: opts.queueFrames }),
    alignFaces({ size: opts.alignSize }),
    trackFaces({ ...opts.tracker, ...(opts.onActiveTracks ? { onActiveTracks: opts.onActiveTracks } : {}) }),
    toEvents(),
  );
}
