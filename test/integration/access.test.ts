import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
// Every answer is checked against the committed OpenAPI document (a change of shape fails here).
import { checkedFetch as fetch } from '../helpers/http-contract.js';

const TOKEN = 'test-token-0123456789abcdef';
let d: RunningDaemon | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => undefined);
  });
}

describe('access control', () => {
  it('requires the bearer token for the API and the WebSocket, not for probes and metrics by default', async () => {
    d = await startDaemon({ auth: { token: TOKEN } });
    const get = (p: string, headers: Record<string, string> = {}) => fetch(d!.base + p, { headers });
    expect((await get('/v1/streams')).status).toBe(401);
    const wrong = await get('/v1/streams', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_UNAUTHORIZED');
    expect((await get('/v1/streams', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await fetch(d.base + '/v1/streams', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    expect(await upgradeStatus(d.ws)).toBe(401);
    expect(await upgradeStatus(`${d.ws}?token=nope`)).toBe(401);
    expect(await upgradeStatus(`${d.ws}?token=${TOKEN}`)).toBe(101);
    expect(await upgradeStatus(d.ws, { authorization: `Bearer ${TOKEN}` })).toBe(101);
    expect(d.logs.join('\n')).not.toContain(TOKEN);
  });

  it('limits WebSocket clients (503 beyond server.maxWsClients)', async () => {
    d = await startDaemon({ server: { maxWsClients: 1 } });
    const first = await EventClient.connect(d.ws);
    expect(await upgradeStatus(d.ws)).toBe(503);
    first.close();
    await waitUntil(async () => (await upgradeStatus(d!.ws)) === 101, 5000, 'a free slot');
  });

  it('can protect probes and metrics too', async () => {
    d = await startDaemon({ auth: { token: TOKEN, protectProbes: true, protectMetrics: true } });
    for (const p of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(d.base + p)).status, p).toBe(401);
      expect((await fetch(d.base + p, { headers: { authorization: `Bearer ${TOKEN}` } })).status, p).toBe(200);
    }
  });
});

describe('runtime stream control', () => {
  it('restarts one stream without disturbing another, and limits the number of streams', async () => {
    d = await startDaemon({
      server: { maxStreams: 2 },
      files: { roots: [mediaDir] },
      streams: [
        { id: 'a', url: media('utterance_1.mp4'), loop: true },
        { id: 'b', url: media('single_face.mp4'), loop: true },
      ],
    });
    const client = await EventClient.connect(`${d.ws}?types=stream`);
    await waitUntil(async () => ((await (await fetch(`${d!.base}/v1/streams/a`)).json()) as { framesDecoded: number }).framesDecoded > 20, 20_000, 'a');
    await client.waitFor((m) => m.streamId === 'b' && m.state === 'running');
    const bBefore = ((await (await fetch(`${d.base}/v1/streams/b`)).json()) as { framesDecoded: number }).framesDecoded;
    const mark = client.messages.length;
    const res = await fetch(`${d.base}/v1/streams/a/restart`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { framesDecoded: number }).framesDecoded).toBe(0);
    await client.waitFor((m) => m.streamId === 'a' && m.state === 'starting');
    await client.waitFor((m) => m.streamId === 'a' && m.state === 'running' && client.messages.findIndex((x) => x.streamId === 'a' && x.state === 'starting') < client.messages.indexOf(m));
    // b was not touched: no state change, frames kept counting.
    expect(client.messages.slice(mark).filter((m) => m.streamId === 'b')).toEqual([]);
    await waitUntil(async () => ((await (await fetch(`${d!.base}/v1/streams/b`)).json()) as { framesDecoded: number }).framesDecoded > bBefore, 10_000, 'b');
    expect((await fetch(`${d.base}/v1/streams/zzz/restart`, { method: 'POST' })).status).toBe(404);
    const third = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'c', url: media('no_face.mp4') }) });
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_LIMIT');
    client.close();
  });

  it('persists API-added streams atomically and brings them back after a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-state-'));
    const file = path.join(dir, 'streams.json');
    const cfg = { files: { roots: [mediaDir] }, persistence: { file }, streams: [{ id: 'fromconfig', url: media('no_face.mp4') }] };
    d = await startDaemon(cfg);
    for (const id of ['p1', 'p2']) {
      const r = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url: media('single_face.mp4'), realtime: false }) });
      expect(r.status).toBe(201);
    }
    expect((await fetch(`${d.base}/v1/streams/p2`, { method: 'DELETE' })).status).toBe(204);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { streams: { id: string }[] };
    expect(saved.streams.map((s) => s.id)).toEqual(['p1']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await d.close();
    d = await startDaemon(cfg);
    const list = ((await (await fetch(`${d.base}/v1/streams`)).json()) as { streams: { id: string; origin: string }[] }).streams;
    expect(list.map((s) => [s.id, s.origin]).sort()).toEqual([
      ['fromconfig', 'config'],
      ['p1', 'api'],
    ]);
    await d.close();
    // A corrupt state file is a clear start-up error, not a silent loss.
    writeFileSync(file, '{"version": 1, "streams": [{"id": "x"}]}');
    await expect(startDaemon(cfg)).rejects.toThrow(/persistence\.file .*streams\.0\.url/);
  });
});
