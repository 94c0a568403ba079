import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeBadMedia } from '../helpers/bad-media.js';
import { EventClient, parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
// Every answer is checked against the committed OpenAPI document (a change of shape fails here).
import { checkedFetch as fetch } from '../helpers/http-contract.js';

let d: RunningDaemon;
let client: EventClient;
let tmp: string;
let bad: Awaited<ReturnType<typeof makeBadMedia>>;

async function api(method: string, url: string, body?: unknown, raw?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(d.base + url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const streamEvents = (id: string) => client.messages.filter((m) => m.type === 'stream' && m.streamId === id);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'va-daemon-'));
  bad = await makeBadMedia(tmp, media('utterance_1.mp4'));
  d = await startDaemon({
    files: { roots: [tmp, mediaDir] },
    streams: [
      { id: 'cam', url: media('utterance_1.mp4'), realtime: true, loop: true },
      { id: 'weird', url: 'gopher://example/stream' },
    ],
  });
  client = await EventClient.connect(d.ws);
}, 120_000);

afterAll(async () => {
  client?.close();
  await d?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('daemon over real HTTP and WebSocket', () => {
  it('is healthy and ready, and streams faces events for a real-time file source', async () => {
    expect((await api('GET', '/healthz')).status).toBe(200);
    const ready = await api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.ready).toBe(true);
    const faces = (await client.waitFor((m) => m.type === 'faces' && m.streamId === 'cam' && (m.faces as unknown[]).length === 1)) as {
      frame: number;
      pts: number;
      ts: string;
      width: number;
      height: number;
      faces: { trackId: number; box: number[]; score: number; landmarks: number[][] }[];
    };
    expect(faces.width).toBe(640);
    expect(faces.height).toBe(360);
    expect(Number.isInteger(faces.frame)).toBe(true);
    expect(faces.pts).toBeGreaterThanOrEqual(0);
    expect(new Date(faces.ts).toISOString()).toBe(faces.ts);
    const face = faces.faces[0]!;
    expect(face.box).toHaveLength(4);
    expect(face.landmarks).toHaveLength(5);
    expect(face.landmarks.every((p) => p.length === 2)).toBe(true);
    expect(face.score).toBeGreaterThan(0.5);
    await client.waitFor((m) => m.type === 'track' && m.streamId === 'cam' && m.state === 'started');
    expect(streamEvents('cam').map((e) => e.state)).toEqual(expect.arrayContaining(['running']));
  });

  it('exposes Prometheus metrics for frames, latency, tracks, state, backend and clients', async () => {
    await waitUntil(async () => (((await api('GET', '/v1/streams/cam')).json.framesAnalysed as number) ?? 0) > 10, 20_000, 'analysed frames');
    const res = await fetch(d.base + '/metrics');
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const m = parseMetrics(await res.text());
    expect(m.get('va_frames_decoded_total{stream="cam"}')).toBeGreaterThan(10);
    expect(m.get('va_frames_analysed_total{stream="cam"}')).toBeGreaterThan(10);
    expect(m.get('va_detection_duration_seconds_count{stream="cam",backend="wasm"}')).toBeGreaterThan(10);
    expect(m.get('va_decode_duration_seconds_count{stream="cam"}')).toBeGreaterThan(10);
    expect(m.get('va_faces_per_frame_count{stream="cam"}')).toBeGreaterThan(10);
    expect(m.get('va_active_tracks{stream="cam"}')).toBe(1);
    expect(m.get('va_stream_state{stream="cam",state="running"}')).toBe(1);
    expect(m.get('va_stream_state{stream="cam",state="failed"}')).toBe(0);
    expect(m.get('va_backend_info{backend="wasm"}')).toBe(1);
    expect(m.get('va_ws_clients')).toBe(1);
    expect(m.get('va_ws_messages_sent_total{type="faces"}')).toBeGreaterThan(0);
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
    // TF.js tensors only: with the face networks on ONNX Runtime (detector.engine auto) TF.js holds
    // no weights here, just the transient preprocessing tensors of a frame in flight.
    expect(m.has('va_tensors_alive')).toBe(true);
    expect(m.get('va_tensors_alive')).toBeGreaterThanOrEqual(0);
  });

  it('manages streams over the API with clear errors', async () => {
    const created = await api('POST', '/v1/streams', { id: 'clip', url: media('single_face.mp4'), realtime: false });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: 'clip', realtime: false, loop: false, origin: 'api' });
    expect((await api('POST', '/v1/streams', { id: 'clip', url: media('single_face.mp4') })).status).toBe(409);
    const list = await api('GET', '/v1/streams');
    expect((list.json.streams as { id: string }[]).map((s) => s.id)).toEqual(expect.arrayContaining(['cam', 'clip', 'weird']));
    await waitUntil(async () => (await api('GET', '/v1/streams/clip')).json.state === 'ended', 30_000, 'clip to end');
    const clip = await api('GET', '/v1/streams/clip');
    expect(clip.json.framesAnalysed).toBe(clip.json.framesDecoded);
    expect(clip.json.framesDropped).toBe(0);
    expect((await api('DELETE', '/v1/streams/clip')).status).toBe(204);
    expect((await api('GET', '/v1/streams/clip')).status).toBe(404);
    expect((await api('DELETE', '/v1/streams/clip')).status).toBe(404);

    const cases: [unknown, string][] = [
      [{ url: media('single_face.mp4') }, 'id'],
      [{ id: 'x' }, 'url'],
      [{ id: 'has space', url: 'demo:' }, 'id'],
      [{ id: 'x', url: 'demo:', realtime: 'yes' }, 'realtime'],
      [{ id: 'x', url: 'demo:', colour: 'red' }, 'colour'],
      [{ id: 'x', url: 'ftp://host/file.mp4' }, 'url'],
      [[1, 2], '(body)'],
    ];
    for (const [body, field] of cases) {
      const r = await api('POST', '/v1/streams', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.json.error as { field: string }).field).toBe(field);
      expect((r.json.error as { code: string }).code).toMatch(/^VA_ERR_/);
    }
    const notJson = await api('POST', '/v1/streams', undefined, '{"id": ');
    expect(notJson.status).toBe(400);
    expect((notJson.json.error as { message: string }).message).toMatch(/not valid JSON/);
    const huge = await api('POST', '/v1/streams', undefined, JSON.stringify({ id: 'x', url: 'demo:', pad: 'x'.repeat(100_000) }));
    expect(huge.status).toBe(413);
    const outside = await api('POST', '/v1/streams', { id: 'etc', url: '/etc/hostname' });
    expect(outside.status).toBe(403);
    expect((outside.json.error as { message: string }).message).toMatch(/file roots/);
    const escape = await api('POST', '/v1/streams', { id: 'esc', url: `file://${tmp}/../../etc/hostname` });
    expect(escape.status).toBe(403);
    // A symlink inside a root that points outside it is refused too.
    symlinkSync('/etc/hostname', path.join(tmp, 'link.mp4'));
    expect((await api('POST', '/v1/streams', { id: 'link', url: path.join(tmp, 'link.mp4') })).status).toBe(403);
    expect((await api('GET', '/v1/streams/nope')).status).toBe(404);
  });

  it('fails bad inputs with a code and message, everywhere, while other streams keep running', async () => {
    const expected: [string, string, string][] = [
      ['missing', bad.missing, 'VA_ERR_SOURCE_NOT_FOUND'],
      ['notvideo', bad.notVideo, 'VA_ERR_SOURCE_OPEN'],
      ['truncated', bad.truncated, 'VA_ERR_SOURCE_OPEN'],
      ['codec', bad.unknownCodec, 'VA_ERR_UNSUPPORTED_CODEC'],
    ];
    const decodedBefore = (await api('GET', '/v1/streams/cam')).json.framesDecoded as number;
    for (const [id, url] of expected) expect((await api('POST', '/v1/streams', { id, url })).status).toBe(201);
    for (const [id, , code] of expected) {
      await waitUntil(async () => (await api('GET', `/v1/streams/${id}`)).json.state === 'failed', 20_000, `${id} to fail`);
      const info = (await api('GET', `/v1/streams/${id}`)).json as { error: { code: string; message: string } };
      expect(info.error.code, id).toBe(code);
      expect(info.error.message.length).toBeGreaterThan(5);
      const ev = await client.waitFor((m) => m.type === 'stream' && m.streamId === id && m.state === 'failed');
      expect((ev.error as { code: string }).code).toBe(code);
      expect(d.logs.some((l) => l.includes(`"streamId":"${id}"`) && l.includes(code) && l.includes('stream failed'))).toBe(true);
    }
    // A URL with an unknown scheme declared in config fails the same way.
    const weird = (await api('GET', '/v1/streams/weird')).json as { state: string; error: { code: string; message: string } };
    expect(weird.state).toBe('failed');
    expect(weird.error.code).toBe('VA_ERR_SOURCE_SCHEME');
    expect(weird.error.message).toContain('gopher:');
    // Nothing else broke.
    expect((await api('GET', '/readyz')).status).toBe(200);
    await waitUntil(async () => ((await api('GET', '/v1/streams/cam')).json.framesDecoded as number) > decodedBefore + 10, 10_000, 'cam to keep decoding');
    expect((await api('GET', '/v1/streams/cam')).json.state).toBe('running');
    const m = parseMetrics(await (await fetch(d.base + '/metrics')).text());
    expect(m.get('va_stream_errors_total{stream="codec",code="VA_ERR_UNSUPPORTED_CODEC"}')).toBe(1);
  });

  it('filters events by stream and type, and refuses unknown types', async () => {
    const only = await EventClient.connect(`${d.ws}?streams=cam&types=track,stream`);
    const other = await api('POST', '/v1/streams', { id: 'other', url: media('single_face.mp4'), realtime: false });
    expect(other.status).toBe(201);
    await waitUntil(async () => (await api('GET', '/v1/streams/other')).json.state === 'ended', 30_000, 'other to end');
    await api('DELETE', '/v1/streams/cam');
    await api('POST', '/v1/streams', { id: 'cam', url: media('utterance_1.mp4'), realtime: true, loop: true });
    await only.waitFor((m) => m.type === 'track' && m.streamId === 'cam');
    expect(only.messages.length).toBeGreaterThan(0);
    expect(only.messages.every((m) => m.streamId === 'cam' && (m.type === 'track' || m.type === 'stream'))).toBe(true);
    only.close();
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${d.ws}?types=faces,gossip`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(400);
  });

  it('closes WebSocket clients with 1001 on shutdown', async () => {
    const c = await EventClient.connect(d.ws);
    await d.close();
    await waitUntil(() => c.closeCode !== undefined, 5000, 'close frame');
    expect(c.closeCode).toBe(1001);
    expect(client.closeCode).toBe(1001);
  });
});
