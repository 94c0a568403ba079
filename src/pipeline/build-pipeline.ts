import { connect, merge, mergeAll, tap, type Observable } from 'rxjs';
import type { AnalyticsEvent, FrameRecord } from '../core/records.js';
import { alignFaces } from './align-faces.js';
import { analyseAffect, type AnalyseAffectDeps, type AnalyseAffectOptions } from './affect/analyse-affect.js';
import { detectFaces, type DetectFacesDeps } from './detect-faces.js';
import { toEvents } from './to-events.js';
import { trackFaces, type TrackOutput } from './track-faces.js';

export interface PipelineOptions {
  readonly queueFrames: number;
  readonly alignSize: number;
  readonly tracker: { readonly iouThreshold: number; readonly maxGapFrames: number };
  readonly onActiveTracks?: (n: number) => void;
  /** Each tracked frame (with its image), synchronously, before its credit goes back to a gated source. */
  readonly onTracked?: (record: TrackOutput) => void;
  /** With a model: affect events from the live CNN / CNN-RNN stage. */
  readonly affect?: { readonly deps: Omit<AnalyseAffectDeps, 'gate'>; readonly options: AnalyseAffectOptions };
}

/**
 * detect → align → track → events for one stream (sources already sample to analysisFps), and with a model the affect branch
 * beside the face events. A gated (as-fast-as-possible) source gets its credit back from the last
 * stage a frame passes through, so no stage in between can pile frames up.
 */
export function buildPipeline(frames: Observable<FrameRecord>, deps: DetectFacesDeps, opts: PipelineOptions): Observable<AnalyticsEvent> {
  const { gate, ...detectDeps } = deps;
  const affect = opts.affect;
  const tracked = frames.pipe(
    detectFaces({ ...detectDeps, ...(gate && !affect ? { gate } : {}) }, { queueFrames: opts.queueFrames }),
    alignFaces({ size: opts.alignSize }),
    trackFaces({ ...opts.tracker, ...(opts.onActiveTracks ? { onActiveTracks: opts.onActiveTracks } : {}) }),
    tap((record) => opts.onTracked?.(record)),
  );
  if (!affect) return tracked.pipe(toEvents());
  return tracked.pipe(
    connect((shared) =>
      merge(shared.pipe(toEvents()), shared.pipe(analyseAffect({ ...affect.deps, ...(gate ? { gate } : {}) }, affect.options), mergeAll())),
    ),
  );
}
