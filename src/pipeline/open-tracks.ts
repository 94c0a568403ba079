import type { StreamId } from '../core/ids.js';
import type { AnalyticsEvent, TrackEvent } from '../core/records.js';

/**
 * The tracks a consumer has been told started and not yet ended, read off the events themselves,
 * so whoever stops a stream can end them: every `started` gets its `ended` on every path.
 */
export class OpenTracks {
  private readonly open = new Set<number>();
  private lastFrame = 0;

  constructor(private readonly streamId: StreamId) {}

  get size(): number {
    return this.open.size;
  }

  observe(event: AnalyticsEvent): void {
    if (event.type === 'faces') this.lastFrame = event.frame;
    if (event.type !== 'track') return;
    this.lastFrame = Math.max(this.lastFrame, event.frame);
    if (event.state === 'started') this.open.add(event.trackId);
    else this.open.delete(event.trackId);
  }

  /** `ended` events for every open track (and forgets them). */
  closeAll(now = new Date()): TrackEvent[] {
    const ts = now.toISOString();
    const ended = [...this.open].map((trackId): TrackEvent => ({ type: 'track', streamId: this.streamId, trackId, state: 'ended', frame: this.lastFrame, ts }));
    this.open.clear();
    return ended;
  }
}
