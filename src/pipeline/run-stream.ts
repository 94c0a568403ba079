import { finalize, Observable } from 'rxjs';
import type { QueuedAffectModel } from '../models/affect/queued-affect-model.js';
import type { FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import { openSource as openRealSource, type SourceSpec } from '../streams/open-source.js';
import type { BaselineControls } from './affect/baseline-affect.js';
import { buildPipeline } from './build-pipeline.js';
import { endOpenTracks } from './end-open-tracks.js';
import type { OpenSource } from './open-frames.js';
import { RunResources } from './run-resources.js';
import type { RunSettings } from './run-settings.js';
import type { RecordSink, StreamRecord } from './stream-record.js';

export type { RunSettings, RunSourceOptions, SourceExtras } from './run-settings.js';
export type { StreamRecord } from './stream-record.js';

export interface RunDeps {
  readonly detector: Pick<FaceDetectorHost, 'createSession'>;
  /** Present when a model is loaded: the run then publishes affect events. */
  readonly affectModel?: QueuedAffectModel;
  /** The seam unit tests replace; the real FFmpeg sources otherwise. */
  readonly openSource?: OpenSource;
  /** Where calibrations (the HTTP API) find the run's per-track baselines. */
  readonly baselines?: BaselineControls;
}

/**
 * One stream from source to events, as one Observable: it owns the source and its reconnects,
 * the detector session, the credit gate and the pipeline, and reports everything a supervisor,
 * a benchmark or `predict` wants to know as typed records instead of callbacks. Each stage reports
 * its own records through the run's one `RecordSink` (the stages: `build-pipeline.ts`); what the
 * subscription owns (session, gate, the `released` promise) is `RunResources`, closed in one finalize.
 *
 * Contract:
 * - The first record (synchronously on subscribe) is `started`, carrying `released`: it resolves
 *   once this subscription's source has freed its native resources and its detector session is
 *   closed, on every path (complete, error, unsubscribe).
 * - Unsubscribing is the only way to stop a run; it stops decoding at once.
 * - A fatal failure is the error channel, as thrown (a source error may quote the URL: whoever
 *   shows it scrubs it); before it (and before completion) every open track gets its `ended`
 *   event, the active-track count goes back to 0, and frames given up are reported as `dropped`.
 *   On unsubscribe nothing more is emitted: the consumer ends the tracks it was told about.
 */
export function runStream(spec: SourceSpec, settings: RunSettings, deps: RunDeps): Observable<StreamRecord> {
  return new Observable<StreamRecord>((subscriber) => {
    // The one sink of the run: every stage reports here, as it happens; nothing after the consumer left.
    const report: RecordSink = (record) => {
      if (!subscriber.closed) subscriber.next(record);
    };
    const run = new RunResources(spec, settings, deps.detector);
    report({ kind: 'started', released: run.released });
    const pipeline = buildPipeline(spec, settings, {
      openSource: deps.openSource ?? openRealSource,
      session: run.session,
      ...(run.gate ? { gate: run.gate } : {}),
      ...(deps.affectModel ? { affectModel: deps.affectModel } : {}),
      ...(deps.baselines ? { baselines: deps.baselines } : {}),
      report,
      onSourceReleased: run.sourceReleased,
    });
    return pipeline.pipe(endOpenTracks(settings.streamId), finalize(() => run.close())).subscribe(subscriber);
  });
}
