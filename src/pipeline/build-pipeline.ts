import { connect, merge, mergeAll, tap, type Observable } from 'rxjs';
import type { AnalyticsEvent } from '../core/records.js';
import type { SourceSpec } from '../streams/open-source.js';
import { alignFaces } from './align-faces.js';
import { assessFaces } from './quality/assess-faces.js';
import type { AffectModel } from './affect/affect-records.js';
import { analyseAffect } from './affect/analyse-affect.js';
import type { BaselineControls } from './affect/baseline-affect.js';
import type { CreditGate } from './credit-gate.js';
import { detectFaces, type DetectFacesDeps } from './detect-faces.js';
import { fromSource } from './from-source.js';
import { openFrames, type OpenSource } from './open-frames.js';
import type { RunSettings } from './run-settings.js';
import type { RecordSink } from './stream-record.js';
import { toEvents } from './to-events.js';
import { trackFaces } from './track-faces.js';

export interface PipelineDeps {
  readonly openSource: OpenSource;
  readonly session: DetectFacesDeps['session'];
  /** A file read as fast as it goes: the last stage a frame passes through gives its credit back. */
  readonly gate?: CreditGate;
  /** With `settings.affect`: the model of the affect branch. */
  readonly affectModel?: AffectModel;
  /** Where every stage reports its records. */
  readonly report: RecordSink;
  /** Where calibrations find the affect branch's per-track baselines. */
  readonly baselines?: BaselineControls;
  /** The source has freed its native resources (may come after unsubscribe). */
  readonly onSourceReleased: () => void;
}

/**
 * One stream's stages in the order a frame meets them: source (openFrames, fromSource) → detect
 * → align → assess (quality) → track → face events (sources already sample to analysisFps), and with a model the
 * affect branch beside the face events. Each stage reports its own records to `deps.report`; the
 * Observable carries the events. A gated (as-fast-as-possible) source gets its credit back from
 * the last stage a frame passes through, so no stage in between can pile frames up.
 */
export function buildPipeline(spec: SourceSpec, settings: RunSettings, deps: PipelineDeps): Observable<AnalyticsEvent> {
  const { gate, report } = deps;
  const affect = deps.affectModel && settings.affect ? { model: deps.affectModel, options: settings.affect } : undefined;
  const frames = fromSource(openFrames(spec, settings, deps.openSource, report), {
    streamId: settings.streamId,
    sourceKind: spec.kind,
    ...(gate ? { gate } : {}),
    report,
    onReleased: deps.onSourceReleased,
  });
  const tracked = frames.pipe(
    detectFaces({ session: deps.session, report, ...(gate && !affect ? { gate } : {}) }, { queueFrames: settings.queueFrames }),
    alignFaces({ size: settings.alignSize }),
    assessFaces(settings.quality),
    trackFaces({ ...settings.tracker, report }),
    // Synchronously, before the frame's credit goes back: consumers that cut crops (predict) read its pixels here.
    tap((record) => report({ kind: 'tracked', record })),
  );
  if (!affect) return tracked.pipe(toEvents());
  const analysed = analyseAffect({ model: affect.model, streamId: settings.streamId, report, ...(gate ? { gate } : {}), ...(deps.baselines ? { baselines: deps.baselines } : {}) }, affect.options);
  return tracked.pipe(connect((shared) => merge(shared.pipe(toEvents()), shared.pipe(analysed, mergeAll()))));
}
