import { defer, map, type OperatorFunction } from 'rxjs';
import type { AffectEvent, TrackedFace } from '../../core/records.js';
import type { CreditGate } from '../credit-gate.js';
import type { RecordSink } from '../stream-record.js';
import type { TrackOutput } from '../track-faces.js';
import type { AffectModel, Held } from './affect-records.js';
import { affectWindows } from './affect-windows.js';
import { cnnFeatures } from './cnn-features.js';
import { cropFaces } from './crop-faces.js';
import { inferWindows } from './infer-windows.js';
import { smoothAffect } from './smooth-affect.js';
import { baselineAffect, type BaselineControls } from './baseline-affect.js';
import type { BaselineSettings } from './baselines.js';
import type { SmoothingKind } from './smoothing.js';
import { toAffectEvents } from './to-affect-events.js';
import { TrackWindows } from './track-windows.js';

export interface AnalyseAffectDeps {
  readonly model: AffectModel;
  readonly streamId: string;
  /** Credits of an as-fast-as-possible source: returned once a frame's affect work is done. */
  readonly gate?: CreditGate;
  /** `dropped` (stages `affect-frame`, `affect-window`): affect results given up under load or over `maxTracks`. */
  readonly report?: RecordSink<'dropped'>;
  /** Where calibrations (the HTTP API) find this stream's baselines. */
  readonly baselines?: BaselineControls;
}

const isGated = (face: TrackedFace): boolean => (face.quality?.gated.length ?? 0) > 0;

export interface AnalyseAffectOptions {
  readonly stride: number;
  readonly smoothing: SmoothingKind;
  /** Frame records waiting for affect analysis; beyond it the oldest is dropped. */
  readonly queueFrames: number;
  readonly maxTracks: number;
  /** Per-track baselines (absent: none kept). */
  readonly baseline?: BaselineSettings;
}

/**
 * Live affect for one stream: (gated faces left out) → crop → CNN features → windows → inference → smoothing → events.
 * Per face, the model's crop (the aligned 112×112 face for seed models, the declared crop for
 * packaged ones) goes through the shared CNN queue once (per member); CNN-RNN
 * models keep each track's per-frame features in a window ring and run the GRU heads every
 * `stride` frames and at track end (seed §7.3 windows); results are smoothed per track and become
 * one `affect` event per analysed frame and track. All state lives per subscription.
 */
export function analyseAffect(deps: AnalyseAffectDeps, opts: AnalyseAffectOptions): OperatorFunction<TrackOutput, AffectEvent[]> {
  const { model, streamId, report } = deps;
  return (source) =>
    defer(() => {
      const windows =
        model.kind === 'cnn-rnn'
          ? new TrackWindows<Held>({
              seqLen: model.seqLen,
              stride: Math.min(opts.stride, model.seqLen),
              maxTracks: opts.maxTracks,
              onDrop: () => report?.({ kind: 'dropped', stage: 'affect-frame', count: 1 }),
            })
          : undefined;
      return source.pipe(
        // Gated faces (quality thresholds, set in the assess stage) never reach the model: no crop,
        // no CNN, no window, no smoothing, no affect event. Their track changes still pass.
        map((record) => (record.kind === 'faces' && record.faces.some(isGated) ? { ...record, faces: record.faces.filter((f) => !isGated(f)) } : record)),
        cropFaces((face) => model.cropOf?.(face) ?? face.alignment),
        cnnFeatures(
          {
            model,
            streamId,
            ...(deps.gate ? { gate: deps.gate } : {}),
            ...(report ? { report } : {}),
            // The frame's faces are lost, but a track that ended in it must still let go of its window.
            onRecordDropped: (record) => {
              if (record.kind === 'faces') for (const t of record.tracks) if (t.state === 'ended') windows?.end(t.trackId);
            },
          },
          { queueFrames: opts.queueFrames },
        ),
        affectWindows({ model, streamId, ...(windows ? { windows } : {}) }),
        inferWindows({ model, streamId, ...(report ? { report } : {}) }),
        smoothAffect(opts.smoothing),
        baselineAffect(opts.baseline, { streamId, ...(deps.baselines ? { controls: deps.baselines } : {}) }),
        toAffectEvents({ thresholds: model.thresholds, model: { id: model.id, version: model.version } }),
      );
    });
}
