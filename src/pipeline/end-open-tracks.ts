import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamId } from '../core/ids.js';
import type { AnalyticsEvent } from '../core/records.js';
import { OpenTracks } from './open-tracks.js';
import type { StreamRecord } from './stream-record.js';

export type EventRecord = Extract<StreamRecord, { readonly kind: 'event' | 'tracks' }>;

/**
 * The run's events as `event` records, and the promise that every `started` track gets its
 * `ended`: when the pipeline completes or fails, whatever tracks a failing stage left open (the
 * tracker ends its own on error) end here and the active count goes back to 0, before the
 * completion or the error travels on. On unsubscribe nothing more is emitted: the consumer ends
 * the tracks it was told about.
 */
export function endOpenTracks(streamId: StreamId): OperatorFunction<AnalyticsEvent, EventRecord> {
  return (source) =>
    new Observable<EventRecord>((subscriber) => {
      const tracks = new OpenTracks(streamId);
      const endAll = (): void => {
        if (tracks.size === 0) return;
        for (const event of tracks.closeAll()) subscriber.next({ kind: 'event', event });
        subscriber.next({ kind: 'tracks', active: 0 });
      };
      return source.subscribe({
        next: (event) => {
          tracks.observe(event);
          subscriber.next({ kind: 'event', event });
        },
        error: (err: unknown) => {
          endAll();
          subscriber.error(err);
        },
        complete: () => {
          endAll();
          subscriber.complete();
        },
      });
    });
}
