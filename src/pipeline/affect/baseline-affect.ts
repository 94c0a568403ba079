import { defer, finalize, map, type OperatorFunction } from 'rxjs';
import type { TrackId } from '../../core/ids.js';
import type { AffectScores } from './affect-events.js';
import type { DecidedRecord } from './affect-records.js';
import { TrackBaselines, type BaselineReport, type BaselineSettings } from './baselines.js';

/** The outputs a baseline is kept of, in one vector: AU probabilities, EXPR probabilities, valence and arousal (those the model has). */
export function baselineInput(scores: AffectScores): number[] {
  return [...Array.from(scores.au ?? []), ...Array.from(scores.expr), ...(scores.va ?? [])];
}

/** A baseline vector cut back into the outputs of `scores` (the inverse of `baselineInput`). */
export function splitBaseline(values: ArrayLike<number>, scores: AffectScores): { readonly au?: number[]; readonly expr: number[]; readonly va?: readonly [number, number] } {
  const v = Array.from(values);
  const au = scores.au ? v.splice(0, scores.au.length) : undefined;
  const expr = v.splice(0, scores.expr.length);
  return { ...(au ? { au } : {}), expr, ...(scores.va ? { va: [v[0]!, v[1]!] as const } : {}) };
}

/**
 * Where calibrations find the baselines of a stream's current run: each run registers its own
 * (`attach`), and lets go of them when it ends. One per daemon; the HTTP route calls `calibrate`.
 */
export class BaselineControls {
  private readonly streams = new Map<string, TrackBaselines>();

  attach(streamId: string, baselines: TrackBaselines): () => void {
    this.streams.set(streamId, baselines);
    return () => {
      if (this.streams.get(streamId) === baselines) this.streams.delete(streamId);
    };
  }

  /** `no-stream`: the stream analyses no affect now (or keeps no baselines); `no-track`: no such track in its current run. */
  calibrate(streamId: string, trackId: TrackId, seconds: number): 'started' | 'no-stream' | 'no-track' {
    const b = this.streams.get(streamId);
    if (!b) return 'no-stream';
    return b.calibrate(trackId, seconds) ? 'started' : 'no-track';
  }
}

/**
 * Per-track baselines of the published values (state per subscription: a restarted run starts
 * every track over), after smoothing, so an event's difference is its own value minus its
 * baseline. Ended tracks are forgotten.
 */
export function baselineAffect(settings: BaselineSettings | undefined, opts: { readonly streamId: string; readonly controls?: BaselineControls }): OperatorFunction<DecidedRecord, DecidedRecord> {
  if (!settings?.enabled) return (source) => source;
  return (source) =>
    defer(() => {
      const baselines = new TrackBaselines(settings);
      const detach = opts.controls?.attach(opts.streamId, baselines);
      const observe = (trackId: TrackId, pts: number, scores: AffectScores): BaselineReport => baselines.observe(trackId, pts, baselineInput(scores));
      return source.pipe(
        map(({ decided, forget }) => {
          const out = { decided: decided.map((d) => ({ meta: d.meta, scores: { ...d.scores, baseline: observe(d.meta.trackId, d.meta.pts, d.scores) } })), forget };
          for (const id of forget) baselines.forget(id);
          return out;
        }),
        finalize(() => detach?.()),
      );
    });
}
