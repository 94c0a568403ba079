import type { Subject, Subscription } from 'rxjs';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import type { AnalyticsEvent, MarkerEvent } from '../core/records.js';

/**
 * Markers (POST /v1/streams/{id}/markers): a `marker` event on the stream's events, at the pts of
 * its latest analysed frame, so the WebSocket, the brokers and the stream's recording all get it.
 * Follows the events for that pts; recordings or not.
 */
export class Markers {
  private readonly latest = new Map<string, number>();
  private readonly subscription: Subscription;

  constructor(
    private readonly events: Subject<AnalyticsEvent>,
    private readonly streams: { has(id: string): boolean },
    private readonly recordingOf: (streamId: string) => string | undefined = () => undefined,
  ) {
    this.subscription = events.subscribe((e) => {
      if (e.type === 'faces' || e.type === 'affect') this.latest.set(e.streamId, e.pts);
      else if (e.type === 'stream' && e.state === 'removed') this.latest.delete(e.streamId);
    });
  }

  /** The stream time of the stream's latest analysed frame. */
  latestPts(streamId: string): number | undefined {
    return this.latest.get(streamId);
  }

  publish(streamId: string, body: { readonly label: string; readonly data?: unknown }): MarkerEvent {
    if (!this.streams.has(streamId)) throw new AnalyticsError(ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(streamId)}`);
    const pts = this.latest.get(streamId);
    const recordingId = this.recordingOf(streamId);
    const event: MarkerEvent = {
      type: 'marker',
      streamId: streamId as MarkerEvent['streamId'],
      label: body.label,
      ...(body.data !== undefined ? { data: body.data } : {}),
      ...(pts !== undefined ? { pts } : {}),
      ...(recordingId !== undefined ? { recordingId } : {}),
      ts: new Date().toISOString(),
    };
    this.events.next(event);
    return event;
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}
