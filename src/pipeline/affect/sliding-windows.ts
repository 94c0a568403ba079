import { Observable, type OperatorFunction } from 'rxjs';
import type { TrackId } from '../../core/ids.js';
import { TrackWindows, type TrackWindowsOptions, type WindowFrame, type WindowJob } from './track-windows.js';

/** One analysed frame of one track: its per-frame CNN features (see `TrackWindows` on ownership). */
export interface TrackFrame<F> extends WindowFrame<F> {
  /** Optional so producers may omit it; present, it names the variant like other records. */
  readonly kind?: 'track-frame';
  readonly trackId: TrackId;
}

export interface TrackEnded {
  readonly kind: 'track-ended';
  readonly trackId: TrackId;
}

export type SlidingWindowsInput<F> = TrackFrame<F> | TrackEnded;

export type SlidingWindowsOptions<F> = TrackWindowsOptions<F>;

/**
 * The live windowing stage of one stream: frames of many tracks in, GRU window jobs out, in
 * arrival order (a track's jobs are in frame order and never mix frames of other tracks). A
 * `track-ended` record flushes that track's partial window; source completion flushes every track
 * still held, then completes. On error or unsubscribe the held frames are simply forgotten: they
 * are plain arrays, there is nothing to dispose.
 */
export function slidingWindows<F>(opts: SlidingWindowsOptions<F>): OperatorFunction<SlidingWindowsInput<F>, WindowJob<F>> {
  return (source) =>
    new Observable<WindowJob<F>>((subscriber) => {
      // Per subscription, so two subscribers never share rings.
      const windows = new TrackWindows<F>(opts);
      const emit = (jobs: readonly WindowJob<F>[]): void => {
        for (const job of jobs) subscriber.next(job);
      };
      const sub = source.subscribe({
        next: (item) => {
          if (item.kind === 'track-ended') {
            emit(windows.end(item.trackId));
            return;
          }
          let jobs: WindowJob<F>[];
          try {
            jobs = windows.push(item.trackId, { frame: item.frame, pts: item.pts, features: item.features });
          } catch (err) {
            // Out-of-order frames are a bug upstream: fail the stream rather than mis-window it.
            subscriber.error(err);
            return;
          }
          emit(jobs);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          emit(windows.endAll());
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        windows.clear();
      };
    });
}
