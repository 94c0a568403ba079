/**
 * The OpenAPI operations of the recording and marker routes (recording-routes.ts), and their
 * component schemas, from the zod schemas the handlers use.
 */
import { markerEventSchema } from '../core/event-schemas.js';
import { recordingMetaSchema } from '../recordings/recording-meta.js';
import { componentSchema } from './component-schema.js';
import { markerPayload, recordingPayload } from './recording-payloads.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => json(ref('Error'), description);

const streamId: Json = { name: 'id', in: 'path', required: true, description: 'The stream id (percent-encoded).', schema: { type: 'string' } };
const rid: Json = { name: 'rid', in: 'path', required: true, description: 'The recording id (rec-<UTC time>-<random>, as the daemon made it).', schema: { type: 'string' } };
const off = "recordings are off (recordings.dir is null) or there is no such recording";
const noRecording = (): Json => error(`No such recording, or ${off.split(' or ')[0]} (VA_ERR_NOT_FOUND).`);
const range: Json = { name: 'Range', in: 'header', required: false, description: 'One byte range (bytes=a-b, bytes=a-, bytes=-n); several ranges are answered with the whole file.', schema: { type: 'string' } };

export const RECORDING_COMPONENTS: Json = {
  Recording: componentSchema(recordingMetaSchema, 'output'),
  RecordingPayload: componentSchema(recordingPayload, 'input'),
  MarkerPayload: componentSchema(markerPayload, 'input'),
  MarkerEvent: componentSchema(markerEventSchema, 'output'),
};

/** The operation of a recording or marker route; undefined for any other route. */
export function recordingOperation(template: string, method: string): Json | undefined {
  switch (`${method === 'HEAD' ? 'GET' : method} ${template}`) {
    case 'POST /v1/streams/{id}/recordings':
      return {
        summary: 'Start recording a stream: its video as received (fragmented MP4) and every event (docs/recordings.md)',
        parameters: [streamId],
        requestBody: { required: false, content: { 'application/json': { schema: ref('RecordingPayload') } } },
        responses: {
          '201': json(ref('Recording'), 'Started (state waiting until the first keyframe); Location names it.'),
          '400': error('A body that is not {maxSeconds?, label?}; error.field names the field (VA_ERR_BAD_REQUEST).'),
          '404': error('No such stream, or recordings are off (VA_ERR_NOT_FOUND).'),
          '409': error('The stream is being recorded already (VA_ERR_CONFLICT).'),
          '413': error('Body over server.maxBodyBytes (VA_ERR_PAYLOAD_TOO_LARGE).'),
          '415': error('A body that is not application/json (VA_ERR_UNSUPPORTED_MEDIA_TYPE).'),
        },
      };
    case 'POST /v1/streams/{id}/markers':
      return {
        summary: 'Mark a moment: a marker event (WebSocket, brokers), stored in the stream’s recording at the current pts',
        parameters: [streamId],
        requestBody: { required: true, content: { 'application/json': { schema: ref('MarkerPayload') } } },
        responses: {
          '201': json(ref('MarkerEvent'), 'The marker event, as published.'),
          '400': error('A body that is not {label, data?}, or data over 4096 bytes of JSON (VA_ERR_BAD_REQUEST).'),
          '404': error('No such stream (VA_ERR_NOT_FOUND).'),
          '413': error('Body over server.maxBodyBytes (VA_ERR_PAYLOAD_TOO_LARGE).'),
          '415': error('Not application/json (VA_ERR_UNSUPPORTED_MEDIA_TYPE).'),
        },
      };
    case 'GET /v1/recordings':
      return {
        summary: 'Every recording, oldest first (running, finished, failed, interrupted)',
        responses: { '200': json({ type: 'object', required: ['recordings'], properties: { recordings: { type: 'array', items: ref('Recording') } } }, 'The recordings.'), '404': error('Recordings are off (VA_ERR_NOT_FOUND).') },
      };
    case 'GET /v1/recordings/{rid}':
      return { summary: 'One recording: stream, start and end, frames, bytes, state, model and provenance, the settings that shaped its events', parameters: [rid], responses: { '200': json(ref('Recording'), 'The recording.'), '404': noRecording() } };
    case 'DELETE /v1/recordings/{rid}':
      return { summary: 'Delete a recording and its files (stopping it first if it runs)', parameters: [rid], responses: { '204': { description: 'Deleted.' }, '404': noRecording() } };
    case 'POST /v1/recordings/{rid}/stop':
      return { summary: 'Stop a recording (a finished one is answered as it is)', parameters: [rid], responses: { '200': json(ref('Recording'), 'Stopped: state finished.'), '404': noRecording() } };
    case 'GET /v1/recordings/{rid}/video':
      return {
        summary: 'The video as received (fragmented MP4, playable while it grows and after a crash)',
        parameters: [rid, range],
        responses: {
          '200': { description: 'The whole file.', content: { 'video/mp4': { schema: { type: 'string', contentMediaType: 'video/mp4' } } } },
          '206': { description: 'The byte range asked for (Content-Range).', content: { 'video/mp4': { schema: { type: 'string', contentMediaType: 'video/mp4' } } } },
          '404': noRecording(),
          '416': error('A range the file does not hold; Content-Range: bytes */size (VA_ERR_BAD_REQUEST).'),
        },
      };
    case 'GET /v1/recordings/{rid}/events.jsonl':
      return {
        summary: 'Every event of the recording, one JSON line each: {t, pts, frame?, wall, event}',
        parameters: [rid, range],
        responses: {
          '200': { description: 'JSON Lines.', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          '206': { description: 'The byte range asked for.', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          '404': noRecording(),
          '416': error('A range the file does not hold (VA_ERR_BAD_REQUEST).'),
        },
      };
    case 'GET /v1/recordings/{rid}/events.csv':
      return {
        summary: "The recording's affect events with the columns of `daemon predict`'s CSV (frame and pts of the recording's video)",
        parameters: [rid],
        responses: { '200': { description: 'CSV (RFC 4180).', content: { 'text/csv': { schema: { type: 'string' } } } }, '404': noRecording() },
      };
    default:
      return undefined;
  }
}
