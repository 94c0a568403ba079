import { concatMap, map, type OperatorFunction } from 'rxjs';
import type { TrackId } from '../../core/ids.js';
import type { AffectEvent } from '../../core/records.js';
import type { AffectEngine, FrameCache } from '../../models/affect/affect-engine.js';
import { cropAlignedFacesUint8 } from '../../models/face-aligner/index.js';
import { boundedConcatMap } from '../bounded-concat-map.js';
import type { CreditGate } from '../credit-gate.js';
import type { TrackOutput } from '../track-faces.js';
import { toAffectEvent, type AffectSmoothers, type FrameMeta } from './affect-events.js';
import { InferenceDroppedError } from './inference-queue.js';
import { createSmoother, type SmoothingKind } from './smoothing.js';
import { TrackWindows, type WindowJob } from './track-windows.js';

interface Held {
  readonly cache: FrameCache;
  readonly meta: FrameMeta;
}

export interface AnalyseAffectDeps {
  readonly engine: AffectEngine;
  readonly streamId: string;
  /** Credits of an as-fast-as-possible source: returned once a frame's affect work is done. */
  readonly gate?: CreditGate;
  /** A frame (or window) whose affect results were given up under load. */
  readonly onDropped?: (what: 'frame' | 'window', count: number) => void;
}

export interface AnalyseAffectOptions {
  readonly stride: number;
  readonly smoothing: SmoothingKind;
  /** Frame records waiting for affect analysis; beyond it the oldest is dropped. */
  readonly queueFrames: number;
  readonly maxTracks: number;
}

/**
 * Live affect for one stream: per face, the model's crop (the aligned 112×112 face for seed
 * models, the declared crop for packaged ones) goes through the shared CNN
 * queue once (per member); CNN-RNN models keep each track's per-frame features in a window ring
 * and run the GRU heads every `stride` frames and at track end (seed §7.3 windows); results are
 * smoothed per track and become one `affect` event per analysed frame and track.
 */
export function analyseAffect(deps: AnalyseAffectDeps, opts: AnalyseAffectOptions): OperatorFunction<TrackOutput, AffectEvent[]> {
  const { engine, streamId } = deps;
  const model = { id: engine.id, version: engine.version };
  const smoothers: AffectSmoothers | undefined =
    opts.smoothing === 'off'
      ? undefined
      : {
          au: createSmoother(opts.smoothing, { constraint: 'unit' }),
          expr: createSmoother(opts.smoothing, { constraint: 'simplex' }),
          va: createSmoother(opts.smoothing, { constraint: 'signed-unit' }),
        };
  const ctx = { thresholds: engine.thresholds, model, ...(smoothers ? { smoothers } : {}) };
  const windows =
    engine.kind === 'cnn-rnn'
      ? new TrackWindows<Held>({
          seqLen: engine.seqLen,
          stride: Math.min(opts.stride, engine.seqLen),
          maxTracks: opts.maxTracks,
          onDrop: () => deps.onDropped?.('frame', 1),
        })
      : undefined;

  const forget = (trackId: TrackId): void => {
    smoothers?.au.forget(trackId);
    smoothers?.expr.forget(trackId);
    smoothers?.va.forget(trackId);
  };

  const runJobs = async (jobs: readonly WindowJob<Held>[]): Promise<AffectEvent[]> => {
    const results = await Promise.all(
      jobs.map((job) =>
        engine.window(
          job.frames.map((f) => f.features.cache),
          streamId,
        ).catch((err: unknown) => {
          if (err instanceof InferenceDroppedError) {
            deps.onDropped?.('window', 1);
            return undefined;
          }
          throw err;
        }),
      ),
    );
    const events: AffectEvent[] = [];
    jobs.forEach((job, j) => {
      const decisions = results[j];
      if (!decisions) return;
      for (const i of job.emit) events.push(toAffectEvent(job.frames[i]!.features.meta, decisions[i]!, ctx));
      if (job.final) forget(job.trackId);
    });
    return events;
  };

  const ended = (trackIds: readonly TrackId[]): WindowJob<Held>[] =>
    trackIds.flatMap((id) => {
      if (!windows) {
        forget(id);
        return [];
      }
      return windows.end(id);
    });

  const cnnFor = (record: TrackOutput): Promise<(FrameCache | undefined)[]> => {
    if (record.kind === 'tracks-closed' || record.faces.length === 0) return Promise.resolve([]);
    const { frame } = record;
    const crops = cropAlignedFacesUint8(frame.image, record.faces.map((f) => engine.cropOf(f)), frame.image.width / frame.sourceWidth);
    const all = Promise.all(
      crops.map((crop) =>
        engine.cnn(crop, streamId).catch((err: unknown) => {
          if (err instanceof InferenceDroppedError) {
            deps.onDropped?.('frame', 1);
            return undefined;
          }
          throw err;
        }),
      ),
    );
    // Marked as handled: a record discarded at teardown must not leave an unhandled rejection;
    // a record still in the pipeline awaits `all` and sees the error.
    all.catch(() => undefined);
    return all;
  };

  // Three steps keep the model busy: CNN requests go out as soon as a frame arrives (so the shared
  // queue can batch faces of several frames and streams), features enter the windows strictly in
  // frame order, and window results are awaited in order without holding up the next frame.
  return (source) =>
    source.pipe(
      map((record) => ({ record, caches: cnnFor(record) })),
      boundedConcatMap(
        async ({ record, caches: pending }): Promise<{ readonly now: AffectEvent[]; readonly later: Promise<AffectEvent[]> }> => {
          try {
            if (record.kind === 'tracks-closed') return { now: [], later: runJobs(ended(record.tracks.map((t) => t.trackId))) };
            const caches = await pending;
            const { frame } = record;
            const now: AffectEvent[] = [];
            const jobs: WindowJob<Held>[] = [];
            record.faces.forEach((face, i) => {
              const cache = caches[i];
              if (!cache) return;
              const meta: FrameMeta = { streamId, trackId: face.trackId, frame: frame.seq, pts: frame.pts, wallTime: frame.wallTime, decodedAt: frame.decodedAt };
              if (windows) jobs.push(...windows.push(face.trackId, { frame: frame.seq, pts: frame.pts, features: { cache, meta } }));
              else now.push(toAffectEvent(meta, engine.decideCnn(cache), ctx));
            });
            jobs.push(...ended(record.tracks.filter((t) => t.state === 'ended').map((t) => t.trackId)));
            return { now, later: jobs.length > 0 ? runJobs(jobs) : Promise.resolve([]) };
          } finally {
            if (record.kind === 'faces') deps.gate?.release();
          }
        },
        {
          capacity: opts.queueFrames,
          onDrop: ({ record, caches }) => {
            // Its CNN requests may still be queued; their results are simply not used.
            void caches.catch(() => undefined);
            if (record.kind !== 'faces') return;
            deps.gate?.release();
            deps.onDropped?.('frame', record.faces.length);
            // The frame's faces are lost, but a track that ended in it must still let go of its window.
            for (const t of record.tracks) if (t.state === 'ended') windows?.end(t.trackId);
          },
        },
      ),
      // Bounded in effect: every item waits only on a window already in the (bounded) GRU queue.
      concatMap(async ({ now, later }) => [...now, ...(await later)]),
    );
}
