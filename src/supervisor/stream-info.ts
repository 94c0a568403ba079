import { z } from 'zod';
import { STREAM_STATES } from '../core/event-schemas.js';
import type { StreamState } from '../core/records.js';
import type { DecoderReport, HwaccelMode, HwFallbackReason, SourceSpec } from '../streams/open-source.js';

// The value lists are written here rather than imported: the streams layer that owns them loads
// node-av, which the documents (gen-docs, GET /openapi.json) have no need of. The checks at the end
// of the file fail the type check when they and the types they mirror part ways.
const SOURCE_KINDS = ['file', 'rtsp', 'demo', 'push', 'unknown'] as const;
const HWACCEL = ['none', 'auto', 'cuda', 'vaapi', 'qsv'] as const;
const FALLBACK_REASONS = ['no-device', 'device-unavailable', 'codec-unsupported', 'decoder-open-failed', 'decoder-declined'] as const;
const API_STATES = STREAM_STATES.filter((s): s is Exclude<StreamState, 'removed'> => s !== 'removed') as [Exclude<StreamState, 'removed'>, ...Exclude<StreamState, 'removed'>[]];

const count = (what: string): z.ZodInt => z.int().min(0).describe(`${what} since the stream was added (a restart keeps counting).`);

export const decoderReportSchema = z
  .strictObject({
    requested: z.enum(HWACCEL).describe('The hwaccel mode asked for (analysis.hwaccel or the stream’s own).'),
    decoder: z.enum(['software', 'cuda', 'vaapi', 'qsv']).describe('What decoded the frames: `software`, or the hardware device type.'),
    codec: z.string().describe("FFmpeg's decoder (h264, hevc_qsv …)."),
    fallback: z
      .strictObject({ reason: z.enum(FALLBACK_REASONS).describe('Why hardware decoding was not used.'), message: z.string().describe('In words.') })
      .readonly()
      .exactOptional()
      .describe('Present when hardware decoding was asked for and software decodes.'),
  })
  .readonly()
  .describe("The decoder of the source's latest open.");

/**
 * A stream as the API shows it (GET /v1/streams, the control topics' replies): the type is
 * inferred from this schema, and the OpenAPI document's StreamInfo is written from it.
 */
export const streamInfoSchema = z
  .strictObject({
    id: z.string().describe('The stream id.'),
    url: z.string().describe('The source URL, credentials scrubbed.'),
    kind: z.enum(SOURCE_KINDS).describe('The kind of source the URL names; `unknown` until it has been parsed.'),
    realtime: z.boolean().describe('Frames are paced at the source rate (files) rather than decoded as fast as possible.'),
    loop: z.boolean().describe('A file starts over at its end.'),
    origin: z.enum(['config', 'api', 'ingest']).describe('Where the stream comes from: the config file, the API (persisted in the state file), or a client pushing frames to /v1/ingest/{id} (removed when it disconnects).'),
    state: z.enum(API_STATES).describe('The current state.'),
    error: z
      .strictObject({ code: z.string().describe('Stable error code (docs/errors.md).'), message: z.string().describe('What went wrong; URL credentials scrubbed.') })
      .readonly()
      .exactOptional()
      .describe('Why the stream failed (state `failed`), or the last error while reconnecting.'),
    createdAt: z.iso.datetime().describe('When the stream was added, ISO 8601 UTC.'),
    framesDecoded: count('Frames decoded'),
    framesAnalysed: count('Frames analysed'),
    framesDropped: count('Frames dropped before analysis (the analysis was busy)'),
    activeTracks: z.int().min(0).describe('Face tracks open now.'),
    reconnects: count('Reconnects of the source'),
    width: z.int().min(1).exactOptional().describe('Source frame width in pixels, once known.'),
    height: z.int().min(1).exactOptional().describe('Source frame height in pixels, once known.'),
    decoder: decoderReportSchema.exactOptional(),
  })
  .readonly()
  .meta({ title: 'StreamInfo', description: 'A stream as the API shows it.' });

/** A stream as the API shows it. */
export type StreamInfo = z.infer<typeof streamInfoSchema>;

// Every kind of source must have its name here; a name no source has yet costs nothing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const mirrors: [
  SourceSpec['kind'] extends StreamInfo['kind'] ? true : false,
  Same<z.infer<typeof decoderReportSchema>, DecoderReport>,
  Same<(typeof HWACCEL)[number], HwaccelMode>,
  Same<z.infer<typeof decoderReportSchema>['decoder'], 'software' | Exclude<HwaccelMode, 'none' | 'auto'>>,
  Same<(typeof FALLBACK_REASONS)[number], HwFallbackReason>,
] = [true, true, true, true, true];
void mirrors;
