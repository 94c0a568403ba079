import type { AnalyticsEvent } from '../../core/records.js';
import type { SinkKind } from '../../config/sink-schema.js';

export type { SinkKind };

/**
 * Fills `{stream}` and `{type}` into a topic template. In NATS subjects `.` separates tokens, so a
 * dot inside a stream id (allowed by the id pattern) becomes `_` there; MQTT and Redis take ids as
 * they are (the id pattern excludes `/`, `+`, `#` and whitespace).
 */
export function formatTopic(template: string, kind: SinkKind, event: Pick<AnalyticsEvent, 'streamId' | 'type'>): string {
  const stream = kind === 'nats' ? event.streamId.replaceAll('.', '_') : event.streamId;
  return template.replaceAll('{stream}', stream).replaceAll('{type}', event.type);
}
