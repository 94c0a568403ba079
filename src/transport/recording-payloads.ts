import { z } from 'zod';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';

/** Longest recording one request may ask for (maxSeconds), in seconds: a day. */
export const MAX_RECORDING_SECONDS = 24 * 3600;
/** A marker's `data`, as JSON text. */
export const MAX_MARKER_DATA_BYTES = 4096;

const label = z.string().min(1).max(200);

/** POST /v1/streams/{id}/recordings (the body may be absent: every field is optional). */
export const recordingPayload = z.strictObject({
  maxSeconds: z.number().positive().max(MAX_RECORDING_SECONDS).optional().describe('Stop after this many seconds of video (stream time).'),
  label: label.optional().describe('A name for the recording (1–200 characters).'),
});

/** POST /v1/streams/{id}/markers. */
export const markerPayload = z.strictObject({
  label: label.describe('What the moment is (1–200 characters).'),
  data: z.unknown().optional().describe(`Any JSON value (at most ${MAX_MARKER_DATA_BYTES} bytes as JSON), published and recorded as sent.`),
});

/** A parsed body, or a 400 naming the first field that is wrong. */
export function parsePayload<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? (issue.keys[0] ?? '(body)') : issue.path.length > 0 ? issue.path.join('.') : '(body)';
  throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `${field}: ${issue.message}`, { context: { field } });
}
