import { z } from 'zod';

/**
 * Recording ids are made by the daemon (`rec-<UTC time>-<random>`) and are the names of their
 * directories: anything else in a request path is refused before it is joined to a path, so no id
 * can name a file outside the recordings directory.
 */
export const RECORDING_ID_PATTERN = /^rec-[0-9]{8}T[0-9]{6}Z-[a-z0-9]{6}$/;

export const RECORDING_STATES = ['waiting', 'recording', 'finished', 'failed', 'interrupted'] as const;
export type RecordingState = (typeof RECORDING_STATES)[number];

/** Why a recording ended. */
export const END_REASONS = ['stopped', 'max-seconds', 'stream-removed', 'stream-ended', 'shutdown', 'source-changed', 'write-failed', 'quota', 'daemon-killed'] as const;

const startSchema = z.strictObject({
  frame: z.int().min(0).describe("The stream's decoded-frame number of the recording's first frame."),
  pts: z.number().describe('Its stream time in seconds: the video starts here (video time t = stream pts − this).'),
});

export const recordingMetaSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(RECORDING_ID_PATTERN),
  streamId: z.string(),
  label: z.string().optional(),
  state: z.enum(RECORDING_STATES).describe('`waiting` for the first keyframe; `recording`; `finished`; `failed` (write error, e.g. a full disk); `interrupted` (the daemon died while recording; closed at the next start).'),
  endReason: z.enum(END_REASONS).optional(),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  requestedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  maxSeconds: z.number().positive().optional(),
  start: startSchema.optional(),
  /** Video packets (frames) in the file. */
  frames: z.int().min(0),
  /** Seconds of video in the file. */
  durationSeconds: z.number().min(0),
  /** Bytes of the video file and of the events file. */
  videoBytes: z.int().min(0),
  eventsBytes: z.int().min(0),
  events: z.int().min(0),
  markers: z.int().min(0),
  container: z.literal('mp4'),
  codec: z.string().optional(),
  width: z.int().min(0).optional(),
  height: z.int().min(0).optional(),
  /** The affect model that produced the events, with its manifest's provenance; null: faces only. */
  model: z.record(z.string(), z.unknown()).nullable(),
  /** The settings that shaped the events (analysis, detector, alignment, tracker, model, the stream's own). */
  config: z.record(z.string(), z.unknown()),
});

export type RecordingMeta = z.infer<typeof recordingMetaSchema>;

export const VIDEO_FILE = 'video.mp4';
export const EVENTS_FILE = 'events.jsonl';
export const META_FILE = 'meta.json';

/** A fresh id: sortable by creation time, unguessable enough not to collide. */
export function newRecordingId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const random = Array.from({ length: 6 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');
  return `rec-${stamp}-${random}`;
}

/** One line of events.jsonl. */
export interface RecordedLine {
  /** Seconds into the recording's video (stream pts − start.pts, at least 0). */
  readonly t: number;
  /** Stream time in seconds the line belongs to: the event's own; for events without one, the latest analysed frame's, or the video's present. */
  readonly pts: number;
  /** The recording's frame number (0 = the video's first frame), for events of one frame. */
  readonly frame?: number;
  /** Wall clock when the line was written (ISO 8601, UTC). */
  readonly wall: string;
  readonly event: Record<string, unknown> & { readonly type: string };
}
