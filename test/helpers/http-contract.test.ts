// The validator the integration tests run HTTP answers through (http-contract.ts) can fail: an
// answer of a changed shape, an undocumented status, content type or path is refused, naming the
// operation and what broke; a conforming answer passes.
import { describe, expect, it } from 'vitest';
import { HttpContractError, checkAnswer } from './http-contract.js';

const info = {
  id: 'cam',
  url: '/media/single_face.mp4',
  kind: 'file',
  realtime: true,
  loop: false,
  origin: 'api',
  state: 'running',
  createdAt: '2026-12-07T21:00:00.000Z',
  framesDecoded: 40,
  framesAnalysed: 38,
  framesDropped: 2,
  activeTracks: 1,
  reconnects: 0,
  width: 640,
  height: 360,
  decoder: { requested: 'none', decoder: 'software', codec: 'h264' },
};
const JSON_TYPE = 'application/json; charset=utf-8';

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HttpContractError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('HTTP contract (the committed docs/api/openapi.json, through ajv)', () => {
  it('accepts answers as the document describes them', () => {
    checkAnswer('GET', '/v1/streams/cam', 200, JSON_TYPE, JSON.stringify(info));
    checkAnswer('GET', '/v1/streams', 200, JSON_TYPE, JSON.stringify({ streams: [info] }));
    checkAnswer('POST', '/v1/streams', 409, JSON_TYPE, JSON.stringify({ error: { code: 'VA_ERR_CONFLICT', message: 'exists', field: 'id' } }));
    checkAnswer('DELETE', '/v1/streams/cam', 204, null, '');
    checkAnswer('HEAD', '/v1/streams/cam', 200, JSON_TYPE, undefined);
    checkAnswer('GET', '/v1/streams/cam/snapshot.jpg', 200, 'image/jpeg', '\xff\xd8');
  });

  it('refuses a StreamInfo of a changed shape: a field added, a field missing, a value out of its range', () => {
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 200, JSON_TYPE, JSON.stringify({ ...info, fps: 25 })))).toMatch(/GET \/v1\/streams\/\{id\} → 200: \(root\): .*additionalProperties: fps/);
    const { framesDecoded: _, ...missing } = info;
    expect(refusal(() => checkAnswer('GET', '/v1/streams', 200, JSON_TYPE, JSON.stringify({ streams: [missing] })))).toMatch(/\/streams\/0: must have required property 'framesDecoded'/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 200, JSON_TYPE, JSON.stringify({ ...info, state: 'removed' })))).toMatch(/\/state: .*enum/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 200, JSON_TYPE, JSON.stringify({ ...info, decoder: { ...info.decoder, decoder: 'vdpau' } })))).toMatch(/\/decoder\/decoder/);
  });

  it('refuses readiness and cluster answers of a changed shape', () => {
    const ready = { ready: true, checks: { models: true, server: true, shuttingDown: false }, details: { backend: 'wasm', modelHosts: [], placements: {}, affectModel: 'none', streams: 0 } };
    checkAnswer('GET', '/readyz', 200, JSON_TYPE, JSON.stringify(ready));
    expect(refusal(() => checkAnswer('GET', '/readyz', 503, JSON_TYPE, JSON.stringify({ ...ready, checks: { ...ready.checks, gpu: false } })))).toMatch(/\/checks: .*additionalProperties: gpu/);
    const view = { instance: 'a', members: [{ id: 'a' }], streams: [{ id: 'cam1', owner: 'a', fence: 3 }], updatedAt: '2026-12-07T21:00:00.000Z', healthy: true, duplicateInstance: false };
    checkAnswer('GET', '/v1/cluster', 200, JSON_TYPE, JSON.stringify(view));
    expect(refusal(() => checkAnswer('GET', '/v1/cluster', 200, JSON_TYPE, JSON.stringify({ ...view, streams: [{ id: 'cam1', owner: 'a' }] })))).toMatch(/\/streams\/0: must have required property 'fence'/);
  });

  it('refuses an error body that is not the envelope, an undocumented status, content type, method or path', () => {
    expect(refusal(() => checkAnswer('GET', '/v1/streams/zz', 404, JSON_TYPE, JSON.stringify({ message: 'no such stream' })))).toMatch(/must have required property 'error'/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/zz', 404, JSON_TYPE, JSON.stringify({ error: { code: 'VA_ERR_NOPE', message: 'x' } })))).toMatch(/\/error\/code: .*enum/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 418, JSON_TYPE, '{}'))).toMatch(/→ 418: the status is not in the document/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 200, 'text/html', '<html>'))).toMatch(/content type "text\/html" is not in the document/);
    expect(refusal(() => checkAnswer('PATCH', '/v1/streams/cam', 200, JSON_TYPE, '{}'))).toMatch(/the method is not in the document/);
    expect(refusal(() => checkAnswer('GET', '/v2/streams', 200, JSON_TYPE, '{}'))).toMatch(/in no route/);
    // Outside the document only the checks every request passes can answer, with the envelope.
    checkAnswer('PATCH', '/v1/streams/cam', 405, JSON_TYPE, JSON.stringify({ error: { code: 'VA_ERR_METHOD_NOT_ALLOWED', message: 'PATCH is not allowed' } }));
    checkAnswer('GET', '/v2/streams', 404, JSON_TYPE, JSON.stringify({ error: { code: 'VA_ERR_NOT_FOUND', message: 'no route' } }));
    expect(refusal(() => checkAnswer('GET', '/v2/streams', 404, JSON_TYPE, JSON.stringify({ error: 'no route' })))).toMatch(/\/error: must be object/);
    expect(refusal(() => checkAnswer('GET', '/v1/streams/cam', 200, JSON_TYPE, '{not json'))).toMatch(/not JSON/);
  });
});
