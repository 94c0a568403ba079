import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import { eventsCsv } from '../recordings/events-csv.js';
import { RECORDING_ID_PATTERN } from '../recordings/recording-meta.js';
import type { Recordings } from '../recordings/recordings.js';
import { PROTOCOL_STATUS, sendError, sendJson } from './http-errors.js';
import { readJsonBody } from './read-json-body.js';
import { MAX_MARKER_DATA_BYTES, markerPayload, parsePayload, recordingPayload } from './recording-payloads.js';
import { decodeSegment } from './request-target.js';

export const STREAM_RECORDINGS_PATH = /^\/v1\/streams\/([^/]+)\/recordings$/;
export const STREAM_MARKERS_PATH = /^\/v1\/streams\/([^/]+)\/markers$/;
export const RECORDINGS_PATH = '/v1/recordings';
/** `/v1/recordings/{rid}` with an optional sub-resource. */
export const RECORDING_PATH = /^\/v1\/recordings\/([^/]+)(?:\/(stop|video|events\.jsonl|events\.csv))?$/;

/** The requests this module answers (for the server's dispatch and its body checks). */
export function isRecordingPath(path: string): boolean {
  return path === RECORDINGS_PATH || RECORDING_PATH.test(path) || STREAM_RECORDINGS_PATH.test(path) || STREAM_MARKERS_PATH.test(path);
}

/** The routes that read a JSON body. */
export function recordingBodyPath(path: string, method: string): boolean {
  return method === 'POST' && (STREAM_RECORDINGS_PATH.test(path) || STREAM_MARKERS_PATH.test(path));
}

export interface RecordingRouteDeps {
  /** undefined: recordings are off (recordings.dir is null). */
  readonly recordings: Recordings | undefined;
  /** Markers are published whether or not recordings are on. */
  readonly marker: (streamId: string, body: { readonly label: string; readonly data?: unknown }) => unknown;
  readonly maxBodyBytes: number;
}

const bad = (message: string, field: string): AnalyticsError => new AnalyticsError(ErrorCodes.BAD_REQUEST, message, { context: { field } });

/** An empty body is allowed for a recording (all its fields are optional). */
async function optionalBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] === undefined && !(length > 0)) return {};
  return (await readJsonBody(req, maxBytes)) as Record<string, unknown>;
}

/** Answers the recording and marker routes; errors are thrown to the server, which answers them. */
export async function serveRecordings(req: IncomingMessage, res: ServerResponse, path: string, deps: RecordingRouteDeps): Promise<void> {
  const method = req.method ?? 'GET';
  const markers = STREAM_MARKERS_PATH.exec(path);
  if (markers) {
    const id = streamId(markers[1]!);
    const body = parsePayload(markerPayload, await readJsonBody(req, deps.maxBodyBytes));
    const text = body.data === undefined ? '' : JSON.stringify(body.data);
    if (Buffer.byteLength(text) > MAX_MARKER_DATA_BYTES) throw bad(`data: at most ${MAX_MARKER_DATA_BYTES} bytes of JSON`, 'data');
    const event = deps.marker(id, { label: body.label, ...(body.data !== undefined ? { data: body.data } : {}) });
    return sendJson(res, 201, event);
  }
  const recordings = deps.recordings;
  if (!recordings) throw new AnalyticsError(ErrorCodes.NOT_FOUND, 'recordings are off on this daemon (set recordings.dir)');
  const start = STREAM_RECORDINGS_PATH.exec(path);
  if (start) {
    const id = streamId(start[1]!);
    const body = parsePayload(recordingPayload, await optionalBody(req, deps.maxBodyBytes));
    const meta = recordings.start(id, { ...(body.maxSeconds !== undefined ? { maxSeconds: body.maxSeconds } : {}), ...(body.label !== undefined ? { label: body.label } : {}) });
    return sendJson(res, 201, meta, { location: `/v1/recordings/${meta.id}` });
  }
  if (path === RECORDINGS_PATH) return sendJson(res, 200, { recordings: recordings.list() });
  const m = RECORDING_PATH.exec(path)!;
  const rid = decodeSegment(m[1]!) ?? '';
  const missing = (): void => sendError(res, ErrorCodes.NOT_FOUND, `no recording with id ${JSON.stringify(rid.slice(0, 80))}`);
  // Only the daemon's own ids name files: anything else cannot be a recording.
  if (!RECORDING_ID_PATTERN.test(rid)) return missing();
  const sub = m[2];
  if (sub === undefined) {
    if (method === 'DELETE') return recordings.remove(rid) ? void res.writeHead(204).end() : missing();
    const meta = recordings.get(rid);
    return meta ? sendJson(res, 200, meta) : missing();
  }
  if (sub === 'stop') {
    const meta = recordings.stop(rid);
    return meta ? sendJson(res, 200, meta) : missing();
  }
  const files = recordings.files(rid);
  if (!files) return missing();
  if (sub === 'video') return serveFile(req, res, files.video, 'video/mp4');
  if (sub === 'events.jsonl') return serveFile(req, res, files.events, 'application/x-ndjson; charset=utf-8');
  const auVa = files.meta.model === null || files.meta.model.au !== false;
  res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="${rid}.csv"` });
  if (method === 'HEAD') return void res.end();
  await pipeline(Readable.from(eventsCsv(files.events, { auVa })), res);
}

function streamId(raw: string): string {
  const id = decodeSegment(raw);
  if (id === undefined) throw bad('malformed stream id', 'id');
  return id;
}

/** A single `bytes=` range of a file of `size` bytes; undefined: no (usable) Range, serve it all; null: unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: RFC 9110 lets a server ignore Range and send the whole file.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    return size === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || end < start) return null;
  return { start, end };
}

/** A recording file, whole or one byte range of it (players seek with Range). */
async function serveFile(req: IncomingMessage, res: ServerResponse, file: string, type: string): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return sendError(res, ErrorCodes.NOT_FOUND, 'the recording has no such file (yet)');
  }
  const range = parseRange(req.headers.range, size);
  const common = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  if (range === null) {
    return sendError(res, ErrorCodes.BAD_REQUEST, `range not satisfiable: the file has ${size} bytes`, { status: PROTOCOL_STATUS.rangeNotSatisfiable, headers: { 'content-range': `bytes */${size}` } });
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const length = Math.max(0, end - start + 1);
  res.writeHead(range ? 206 : 200, { ...common, 'content-length': length, ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
  if (req.method === 'HEAD' || length === 0) return void res.end();
  await pipeline(createReadStream(file, { start, end }), res);
}
