// The OpenAPI document: served at GET /openapi.json, valid for a maintained parser, naming every
// route the server's table holds and no other, and the answers of a real daemon conform to it.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../src/transport/http-routes.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';

type Json = Record<string, unknown>;
let d: RunningDaemon;
let doc: Json;

beforeAll(async () => {
  d = await startDaemon({ auth: { token: 'open-sesame-token-0123456789' } });
  const res = await fetch(`${d.base}/openapi.json`, { headers: { authorization: 'Bearer open-sesame-token-0123456789' } });
  expect(res.status).toBe(200);
  doc = (await res.json()) as Json;
});
afterAll(() => d?.close());

/** The response schema the document gives for one answer, with the components to resolve it. */
function conforms(path: string, method: string, status: number, body: unknown): void {
  const op = ((doc.paths as Json)[path] as Json)[method] as { responses: Record<string, { content?: Record<string, { schema: Json }> }> };
  const response = op.responses[String(status)];
  expect(response, `${method} ${path} ${status} is not in the document`).toBeDefined();
  const schema = response!.content?.['application/json']?.schema;
  expect(schema, `${method} ${path} ${status} has no JSON body in the document`).toBeDefined();
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  formats.default(ajv);
  const validate = ajv.compile({ ...schema, components: doc.components });
  expect(validate(body) ? [] : validate.errors, `${method} ${path} ${status}`).toEqual([]);
}

describe('OpenAPI document', () => {
  it('GET /openapi.json is a valid OpenAPI 3.1 document (@apidevtools/swagger-parser), and needs the token like the other read-only routes', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(doc) as never);
    expect((await fetch(`${d.base}/openapi.json`)).status).toBe(401);
  });

  it("every route of the server's table is in the document, with every method, and nothing else is", async () => {
    const inTable = HTTP_ROUTES.flatMap((r) => r.methods.map((m) => `${m.toLowerCase()} ${r.template}`)).sort();
    const inDoc = Object.entries(doc.paths as Json).flatMap(([p, ops]) => Object.keys(ops as Json).map((m) => `${m} ${p}`)).sort();
    expect(inDoc).toEqual(inTable);
    // And the table is the server's: a path outside it is no route.
    expect((await fetch(`${d.base}/v1/nope`, { headers: { authorization: 'Bearer open-sesame-token-0123456789' } })).status).toBe(404);
  });

  it('the answers of GET /v1/streams, POST /v1/streams refusals and /readyz conform to it', async () => {
    const auth = { authorization: 'Bearer open-sesame-token-0123456789' };
    const list = await fetch(`${d.base}/v1/streams`, { headers: auth });
    conforms('/v1/streams', 'get', list.status, await list.json());
    for (const body of ['{not json', JSON.stringify({ id: 'a', url: 'gopher://x/y' }), JSON.stringify({ id: 'a', url: '/m.mp4', bogus: 1 }), JSON.stringify({ id: 'a', url: '/etc/passwd' })]) {
      const r = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
      expect(r.status).toBeGreaterThanOrEqual(400);
      conforms('/v1/streams', 'post', r.status, await r.json());
    }
    const plain = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: auth, body: '{}' });
    conforms('/v1/streams', 'post', plain.status, await plain.json());
    const ready = await fetch(`${d.base}/readyz`);
    conforms('/readyz', 'get', ready.status, await ready.json());
    const unauthorised = await fetch(`${d.base}/v1/streams`);
    conforms('/v1/streams', 'get', unauthorised.status, await unauthorised.json());
  });
});
