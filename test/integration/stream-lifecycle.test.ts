/**
 * Regression tests for the lifecycle defects of issue 8 through a real daemon: persistence that
 * loses or pretends (5, 6, 14's state file), file roots checked only at POST (4), and events out
 * of step with what happened (11).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
// Every answer is checked against the committed OpenAPI document (a change of shape fails here).
import { checkedFetch as fetch } from '../helpers/http-contract.js';

let d: RunningDaemon | undefined;
const tmps: string[] = [];
afterEach(async () => {
  await d?.close();
  d = undefined;
  for (const t of tmps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-life-'));
  tmps.push(dir);
  return dir;
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(d!.base + p, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const savedIds = (file: string): string[] => (JSON.parse(readFileSync(file, 'utf8')) as { streams: { id: string }[] }).streams.map((s) => s.id).sort();
const stream = (id: string) => ({ id, url: media('no_face.mp4'), realtime: true, loop: false });

describe('persistence', () => {
  it('keeps every persisted stream on disk when a restore cannot run them all (defect 5)', async () => {
    const file = path.join(tmp(), 'streams.json');
    writeFileSync(file, JSON.stringify({ version: 1, streams: ['p1', 'p2', 'p3'].map(stream) }));
    const err = await startDaemon({ files: { roots: [mediaDir] }, persistence: { file }, server: { maxStreams: 2 } }).catch((e: unknown) => e);
    expect(savedIds(file)).toEqual(['p1', 'p2', 'p3']);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/maxStreams/);
  });

  it('answers 5xx and rolls back when a change cannot be persisted (defect 6)', async () => {
    const dir = path.join(tmp(), 'state');
    mkdirSync(dir);
    const file = path.join(dir, 'streams.json');
    d = await startDaemon({ files: { roots: [mediaDir] }, persistence: { file } });
    expect((await api('POST', '/v1/streams', stream('kept'))).status).toBe(201);
    rmSync(dir, { recursive: true });
    const lost = await api('POST', '/v1/streams', stream('lost'));
    expect(lost.status).toBe(500);
    expect(lost.json.error).toMatchObject({ code: 'VA_ERR_PERSISTENCE' });
    expect((lost.json.error as { message: string }).message).toMatch(/could not be written/);
    expect((await api('GET', '/v1/streams/lost')).status).toBe(404);
    const del = await api('DELETE', '/v1/streams/kept');
    expect(del.status).toBe(500);
    expect(del.json.error).toMatchObject({ code: 'VA_ERR_PERSISTENCE' });
    expect((await api('GET', '/v1/streams/kept')).status).toBe(200);
  });

  it('refuses to start when the state file cannot be used, listing the problem (defects 6 and 14)', async () => {
    const base = tmp();
    const cases: [string, () => string, RegExp][] = [
      ['missing directory', () => path.join(base, 'nope', 'streams.json'), /does not exist/],
      ['a directory', () => (mkdirSync(path.join(base, 'dir.json')), path.join(base, 'dir.json')), /not a regular file/],
      ['empty', () => (writeFileSync(path.join(base, 'empty.json'), ''), path.join(base, 'empty.json')), /is empty/],
      ['corrupt', () => (writeFileSync(path.join(base, 'bad.json'), '{"version": 1, "str'), path.join(base, 'bad.json')), /not valid JSON/],
      ['wrong version', () => (writeFileSync(path.join(base, 'v2.json'), '{"version": 2, "streams": []}'), path.join(base, 'v2.json')), /version/],
    ];
    for (const [what, make, message] of cases) {
      const err = await startDaemon({ persistence: { file: make() } }).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.join('\n'), what).toMatch(message);
    }
  });
});

describe('file roots at every open (defect 4)', () => {
  it('refuses a dangling link out of a root at POST, a re-pointed link at restart, and a restored stream outside the roots', async () => {
    const root = tmp();
    const outside = tmp();
    const inside = path.join(root, 'clip.mp4');
    writeFileSync(inside, readFileSync(media('no_face.mp4')));
    const file = path.join(tmp(), 'streams.json');
    d = await startDaemon({ files: { roots: [root] }, persistence: { file } });
    symlinkSync(path.join(outside, 'later.mp4'), path.join(root, 'dangling.mp4'));
    expect((await api('POST', '/v1/streams', { id: 'dangling', url: path.join(root, 'dangling.mp4') })).status).toBe(403);

    const link = path.join(root, 'link.mp4');
    symlinkSync(inside, link);
    expect((await api('POST', '/v1/streams', { id: 'link', url: link, loop: true })).status).toBe(201);
    await waitUntil(async () => (await api('GET', '/v1/streams/link')).json.state === 'running', 20_000, 'link running');
    rmSync(link);
    writeFileSync(path.join(outside, 'secret.mp4'), readFileSync(media('no_face.mp4')));
    symlinkSync(path.join(outside, 'secret.mp4'), link);
    expect((await api('POST', '/v1/streams/link/restart')).status).toBe(200);
    const after = (await api('GET', '/v1/streams/link')).json;
    expect(after.state).toBe('failed');
    expect(after.error).toMatchObject({ code: 'VA_ERR_SOURCE_FORBIDDEN' });
    await d.close();

    // Roots shrink between runs: the persisted stream comes back, refused, and stays persisted.
    const smaller = tmp();
    d = await startDaemon({ files: { roots: [smaller] }, persistence: { file } });
    const restored = (await api('GET', '/v1/streams/link')).json;
    expect(restored).toMatchObject({ origin: 'api', state: 'failed', error: { code: 'VA_ERR_SOURCE_FORBIDDEN' } });
    expect(savedIds(file)).toEqual(['link']);
  });
});

describe('events in step with the streams (defect 11)', () => {
  it('ends a track before a restart starts again, and publishes removed on DELETE', async () => {
    d = await startDaemon({ files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), loop: true }] });
    const client = await EventClient.connect(`${d.ws}?types=stream,track`);
    try {
      await client.waitFor((m) => m.type === 'track' && m.state === 'started', 30_000);
      expect((await api('POST', '/v1/streams/cam/restart')).status).toBe(200);
      await waitUntil(() => client.messages.filter((m) => m.type === 'track' && m.state === 'started').length >= 2, 30_000, 'a track in the new run');
      // Per track id, starts and ends alternate: never two starts without an end between.
      const open = new Set<number>();
      for (const m of client.messages.filter((x) => x.type === 'track')) {
        const id = m.trackId as number;
        if (m.state === 'started') {
          expect(open.has(id), `track ${id} started twice`).toBe(false);
          open.add(id);
        } else {
          expect(open.has(id), `track ${id} ended without a start`).toBe(true);
          open.delete(id);
        }
      }
      expect((await api('DELETE', '/v1/streams/cam')).status).toBe(204);
      await client.waitFor((m) => m.type === 'stream' && m.state === 'removed' && m.streamId === 'cam', 10_000);
      const started = client.messages.filter((m) => m.type === 'track' && m.state === 'started').length;
      const ended = client.messages.filter((m) => m.type === 'track' && m.state === 'ended').length;
      expect(ended).toBe(started);
      const removedAt = client.messages.findIndex((m) => m.state === 'removed');
      expect(client.messages.slice(removedAt + 1)).toEqual([]);
    } finally {
      client.close();
    }
  });
});
