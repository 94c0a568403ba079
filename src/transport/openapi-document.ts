/**
 * The OpenAPI 3.1 document of the HTTP API, built from the code that has the shapes: the route
 * table (http-routes.ts), the error codes and their statuses (http-errors.ts), and the zod schemas
 * the handlers' types are inferred from (POST /v1/streams' body, StreamInfo, readiness, the
 * cluster view). Served at GET /openapi.json and committed as docs/api/openapi.json by
 * `npm run docs` (test/lint/docs.test.ts fails on drift).
 */
import { ErrorCodes } from '../core/errors.js';
import { EVENT_SCHEMAS } from '../core/event-schemas.js';
import { EVENT_TYPES } from '../core/records.js';
import { PROTOCOL_STATUS, STATUS_FOR_CODE } from './http-errors.js';
import { clusterViewSchema } from '../cluster/cluster-view.js';
import { streamInfoSchema } from '../supervisor/stream-info.js';
import { componentSchema } from './component-schema.js';
import type { HttpRoute } from './http-routes.js';
import { readinessSchema } from './readiness-schema.js';
import { createStreamPayload } from './stream-payload.js';
import { CALIBRATION_SECONDS_LIMIT, calibrationPayload } from './baseline-route.js';
import { RECORDING_COMPONENTS, recordingOperation } from './recording-openapi.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => json(ref('Error'), description);

/** The codes a status is answered with, for its description. */
function codesOf(status: number): string {
  const codes = Object.entries(STATUS_FOR_CODE)
    .filter(([, s]) => s === status)
    .map(([c]) => c);
  return codes.length > 0 ? ` (${codes.join(', ')})` : '';
}

const idParameter: Json = { name: 'id', in: 'path', required: true, description: 'The stream id (percent-encoded).', schema: { type: 'string' } };

/** Answers every route can give before it runs: token, Host/Origin, method. */
const COMMON: Json = {
  '401': error(`Missing or wrong bearer token, when server.token is set${codesOf(401)}.`),
  '403': error('Host or Origin not allowed (VA_ERR_HOST_FORBIDDEN, VA_ERR_ORIGIN_FORBIDDEN).'),
  '405': error(`Method not allowed on this path; the Allow header lists the methods${codesOf(405)}.`),
  '500': error('A failure of the daemon; on a route that changes streams, also a change that could not be persisted (VA_ERR_PERSISTENCE, rolled back).'),
};

function operation(template: string, method: string): Json {
  const get = method === 'GET' || method === 'HEAD';
  const ok = (schema: Json, what: string): Json => ({ '200': json(schema, what) });
  switch (`${method === 'HEAD' ? 'GET' : method} ${template}`) {
    case 'GET /healthz':
      return { summary: 'Liveness', responses: ok({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }, 'The process answers.') };
    case 'GET /readyz': {
      const body = ref('Readiness');
      return { summary: 'Readiness', responses: { ...ok(body, 'Ready.'), [String(PROTOCOL_STATUS.unavailable)]: json(body, 'Not ready: the checks say which part is not.') } };
    }
    case 'GET /metrics':
      return { summary: 'Prometheus metrics (docs/metrics.md)', responses: { '200': { description: 'Prometheus text exposition.', content: { 'text/plain': { schema: { type: 'string' } } } } } };
    case 'GET /openapi.json':
      return { summary: 'This document', responses: ok({ type: 'object' }, 'The OpenAPI 3.1 document.') };
    case 'GET /asyncapi.json':
      return { summary: 'The AsyncAPI 3 document of the event channels (WebSocket, brokers, control topics)', responses: ok({ type: 'object' }, 'The AsyncAPI document (docs/api/asyncapi.json).') };
    case 'GET /schemas/events/{type}.json':
      return {
        summary: "One event type's JSON Schema (draft 2020-12)",
        parameters: [{ name: 'type', in: 'path', required: true, description: 'The event type.', schema: { enum: Object.keys(EVENT_SCHEMAS) } }],
        responses: { ...ok({ type: 'object' }, 'The schema (docs/api/events/<type>.schema.json).'), '404': error('No such event type (VA_ERR_NOT_FOUND).') },
      };
    case 'GET /v1/streams':
      return { summary: 'List the streams', responses: ok({ type: 'object', required: ['streams'], properties: { streams: { type: 'array', items: ref('StreamInfo') } } }, 'Every stream.') };
    case 'POST /v1/streams':
      return {
        summary: 'Add a stream',
        requestBody: { required: true, content: { 'application/json': { schema: ref('StreamPayload') } } },
        responses: {
          '201': { ...json(ref('StreamInfo'), 'Added; Location names it.'), headers: { location: { schema: { type: 'string' } } } },
          '400': error(`Not JSON, not an object, fails the schema, or a bad URL; error.field names the field${codesOf(400)}.`),
          '409': error(`The id exists, or the cluster holds it${codesOf(409)}.`),
          '413': error(`Body over server.maxBodyBytes${codesOf(413)}.`),
          '415': error(`Not application/json${codesOf(415)}.`),
          '429': error(`server.maxStreams reached${codesOf(429)}.`),
          '500': error('The change could not be persisted (VA_ERR_PERSISTENCE) or another failure of the daemon.'),
        },
      };
    case 'GET /v1/cluster':
      return { summary: 'The cluster: members, and every stream with its owner and fence', responses: { ...ok(ref('ClusterView'), 'The cluster view.'), '404': error('Not part of a cluster (VA_ERR_NOT_FOUND).') } };
    case 'GET /v1/events':
      return {
        summary: 'The event WebSocket (docs/api/asyncapi.json and docs/api/events/)',
        parameters: [
          { name: 'streams', in: 'query', schema: { type: 'string' }, description: 'Comma-separated stream ids; absent = every stream.' },
          { name: 'types', in: 'query', schema: { type: 'string' }, description: `Comma-separated event types (${EVENT_TYPES.join(', ')}); absent = every type.` },
          { name: 'token', in: 'query', schema: { type: 'string' }, description: 'The bearer token (WebSocket only: browsers cannot set headers on one).' },
        ],
        responses: {
          '101': { description: 'Switched to WebSocket: one JSON event per message.' },
          '400': error('Empty or unknown streams=/types=, or a malformed upgrade (VA_ERR_BAD_REQUEST).'),
          [String(PROTOCOL_STATUS.upgradeRequired)]: error('A plain GET: this endpoint is a WebSocket (VA_ERR_BAD_REQUEST).'),
          [String(PROTOCOL_STATUS.unavailable)]: { description: 'server.maxWsClients reached (no body).' },
        },
      };
    case 'GET /v1/ingest/{id}':
      return {
        summary: 'Push frames: the WebSocket of a push stream (docs/ingest.md)',
        parameters: [
          idParameter,
          { name: 'snapshots', in: 'query', schema: { enum: ['raw', 'blurred', 'off'] }, description: "The stream's privacy.snapshots; default off." },
          { name: 'token', in: 'query', schema: { type: 'string' }, description: 'The bearer token (WebSocket only: browsers cannot set headers on one).' },
        ],
        responses: {
          '101': { description: 'Switched to WebSocket: stream {id} exists while it is open; each binary message is one JPEG frame.' },
          '400': error('Malformed id or snapshots=, or a malformed upgrade (VA_ERR_BAD_REQUEST).'),
          '404': error('Pushing is turned off (ingest.enabled) (VA_ERR_NOT_FOUND).'),
          '409': error('The id is taken by a stream or another pusher (VA_ERR_CONFLICT).'),
          '429': error('ingest.maxStreamsPerClient or server.maxStreams reached (VA_ERR_LIMIT).'),
          [String(PROTOCOL_STATUS.upgradeRequired)]: error('A plain GET: this endpoint is a WebSocket (VA_ERR_BAD_REQUEST).'),
        },
      };
    case 'GET /v1/streams/{id}':
      return { summary: 'One stream', parameters: [idParameter], responses: { ...ok(ref('StreamInfo'), 'The stream.'), '400': error('Malformed id.'), '404': error('No such stream (VA_ERR_NOT_FOUND).') } };
    case 'DELETE /v1/streams/{id}':
      return {
        summary: 'Remove a stream',
        parameters: [idParameter],
        responses: { '204': { description: 'Removed.' }, '400': error('Malformed id.'), '404': error('No such stream (VA_ERR_NOT_FOUND).'), '409': error("A cluster stream: it leaves the cluster's config, not the API (VA_ERR_CONFLICT).") },
      };
    case 'POST /v1/streams/{id}/restart':
      return { summary: 'Restart a stream', parameters: [idParameter], responses: { ...ok(ref('StreamInfo'), 'Restarting.'), '400': error('Malformed id.'), '404': error('No such stream (VA_ERR_NOT_FOUND).') } };
    case 'POST /v1/streams/{id}/tracks/{trackId}/baseline':
      return {
        summary: "Calibrate a person's baseline: the track's next N seconds are their neutral (docs/events.md#baselines)",
        parameters: [idParameter, { name: 'trackId', in: 'path', required: true, description: 'The track, as in faces and affect events.', schema: { type: 'integer', minimum: 1 } }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('CalibrationPayload') } } },
        responses: {
          '202': json(
            { type: 'object', required: ['streamId', 'trackId', 'seconds', 'state'], properties: { streamId: { type: 'string' }, trackId: { type: 'integer' }, seconds: { type: 'number' }, state: { const: 'calibrating' } } },
            "Started: the track's affect events say baseline.state calibrating, then calibrated.",
          ),
          '400': error(`Malformed id or track id, or a body that is not {"seconds": N} with N in (0, baseline.maxCalibrationSeconds]; error.field names the field${codesOf(400)}.`),
          '404': error('No such stream, or no such track with affect results in its current run (VA_ERR_NOT_FOUND).'),
          '409': error('The stream keeps no baselines now: no affect model, baseline.enabled false, or not running (VA_ERR_CONFLICT).'),
          '413': error(`Body over server.maxBodyBytes${codesOf(413)}.`),
          '415': error(`Not application/json${codesOf(415)}.`),
        },
      };
    case 'GET /v1/streams/{id}/snapshot.jpg':
      return {
        summary: 'The latest analysed frame as JPEG',
        parameters: [
          idParameter,
          { name: 'annotated', in: 'query', schema: { enum: ['0', '1'] }, description: '1: boxes and landmarks drawn.' },
          { name: 'blur', in: 'query', schema: { enum: ['0', '1'] }, description: "1: faces pixelated (always so when the stream's privacy.snapshots is blurred)." },
        ],
        responses: {
          '200': { description: 'The frame (never cached).', content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } } } },
          '400': error('Malformed id, or annotated or blur not 0 or 1 (VA_ERR_BAD_REQUEST).'),
          '403': error("The stream's privacy.snapshots is off, or blurred and blur=0 was asked for (VA_ERR_SNAPSHOT_FORBIDDEN)."),
          '404': error('No such stream, or no analysed frame yet (Retry-After: 1) (VA_ERR_NOT_FOUND).'),
        },
      };
    default: {
      const recording = recordingOperation(template, method);
      if (recording) return recording;
      if (get) return { summary: 'The live page (no token needed: it holds no data)', security: [], responses: { '200': { description: 'A file of the live page.' } } };
      throw new Error(`openapi-document: no description of ${method} ${template}`);
    }
  }
}

/** Probes and metrics are open unless server.protectProbes / protectMetrics; the live page always. */
function security(template: string): Json {
  return template === '/healthz' || template === '/readyz' || template === '/metrics' ? { security: [{}, { bearer: [] }] } : {};
}

export function openApiDocument(routes: readonly HttpRoute[]): Json {
  const paths: Json = {};
  for (const r of routes) {
    const ops: Json = {};
    for (const m of r.methods) {
      const op = operation(r.template, m);
      ops[m.toLowerCase()] = { ...security(r.template), ...op, responses: { ...COMMON, ...(op.responses as Json) } };
    }
    paths[r.template] = ops;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'affect-daemon HTTP API', version: '1', description: 'docs/http-api.md; errors: docs/errors.md.' },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'server.token; required when it is set.' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { enum: Object.values(ErrorCodes) }, message: { type: 'string' }, field: { type: 'string', description: 'The field of the request the error concerns ((body): the body as a whole).' } },
            },
          },
        },
        StreamInfo: componentSchema(streamInfoSchema, 'output'),
        StreamPayload: componentSchema(createStreamPayload, 'input'),
        Readiness: componentSchema(readinessSchema, 'output'),
        ClusterView: componentSchema(clusterViewSchema, 'output'),
        CalibrationPayload: componentSchema(calibrationPayload(CALIBRATION_SECONDS_LIMIT), 'input'),
        ...RECORDING_COMPONENTS,
      },
    },
  };
}
