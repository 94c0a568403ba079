/**
 * The push source on a real daemon (real detector, a test CNN model, real sockets): JPEG frames of
 * a real clip pushed over /v1/ingest/{id} become a stream like any other (faces and affect events,
 * removed when the socket closes); hostile pushers (garbage, oversize, too many pixels, too fast,
 * text, too many streams, no token, another site) are refused, counted and skipped while the
 * daemon and its file stream carry on; snapshots follow privacy.snapshots (off for push streams
 * unless asked; blurred ones differ from raw ones where the faces are).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventClient, parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

const TOKEN = 'ingest-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let frames: Buffer[];

/** JPEG frames of the clip (10 fps, 640 wide), as a browser's canvas.toBlob would send them. */
function extractFrames(): Buffer[] {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', media('utterance_1.mp4'), '-t', '4', '-vf', 'fps=10,scale=640:-2', '-q:v', '5', path.join(dir, 'f%03d.jpg')]);
  return readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => readFileSync(path.join(dir, f)));
}

interface Pusher {
  readonly ws: WebSocket;
  readonly notices: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens /v1/ingest/{id}; resolves once open, or rejects with the refusal's status and body. */
function push(d: RunningDaemon, id: string, opts: { query?: string; headers?: Record<string, string> } = {}): Promise<Pusher> {
  const ws = new WebSocket(`${d.ws.replace('/v1/events', '')}/v1/ingest/${id}${opts.query ?? ''}`, { headers: opts.headers ?? auth });
  const notices: Record<string, unknown>[] = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) notices.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, notices, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body || '{}') as { error?: { code: string } } })));
    });
    ws.once('error', (err) => reject(err));
  });
}

async function refusal(p: Promise<Pusher>): Promise<{ status: number; code: string | undefined }> {
  try {
    const c = await p;
    c.ws.close();
    throw new Error('the upgrade was accepted');
  } catch (err) {
    const e = err as { status?: number; body?: { error?: { code: string } } };
    if (e.status === undefined) throw err;
    return { status: e.status, code: e.body?.error?.code };
  }
}

/** Sends frames at `fps` until `stop` says so (or the socket closes). */
async function pushFrames(p: Pusher, fps: number, stop: () => boolean, list = frames): Promise<number> {
  let n = 0;
  while (!stop() && p.ws.readyState === WebSocket.OPEN) {
    p.ws.send(list[n % list.length]!);
    n++;
    await new Promise((r) => setTimeout(r, 1000 / fps));
  }
  return n;
}

async function metrics(d: RunningDaemon): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${d.base}/metrics`)).text());
}

async function streamInfo(d: RunningDaemon, id: string): Promise<Record<string, unknown> | undefined> {
  const r = await fetch(`${d.base}/v1/streams/${id}`, { headers: auth });
  return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'va-ingest-'));
  frames = extractFrames();
  expect(frames.length).toBeGreaterThanOrEqual(30);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('push streams over /v1/ingest/{id}', () => {
  let d: RunningDaemon;
  let events: EventClient;

  beforeAll(async () => {
    d = await startDaemon({
      auth: { token: TOKEN },
      files: { roots: [mediaDir] },
      model: { dir: await importTestModel('cnn') },
      ingest: { maxFrameBytes: 256 * 1024, maxPixels: 1280 * 720, maxFps: 10, maxStreamsPerClient: 2 },
      streams: [{ id: 'talk', url: media('utterance_1.mp4'), realtime: true, loop: true }],
    });
    events = await EventClient.connect(`${d.ws}?token=${TOKEN}`);
  }, 60_000);
  afterAll(async () => {
    events?.close();
    await d?.close();
  });

  it('runs the pipeline on pushed JPEG frames: faces and expressions, kind push, removed when the socket closes', async () => {
    const p = await push(d, 'cam1');
    const info = await streamInfo(d, 'cam1');
    expect(info).toMatchObject({ id: 'cam1', url: 'push:cam1', kind: 'push', origin: 'ingest' });
    let done = false;
    const sending = pushFrames(p, 8, () => done);
    try {
      const faces = (await events.waitFor((m) => m.streamId === 'cam1' && m.type === 'faces' && (m.faces as unknown[]).length === 1, 30_000)) as { frame: number; width: number };
      // The frame number is the frame's place on the connection, so a client can match results to what it sent.
      expect(faces.frame).toBeLessThan(200);
      expect(faces.width).toBe(640);
      const affect = (await events.waitFor((m) => m.streamId === 'cam1' && m.type === 'affect', 30_000)) as { expr?: { label: string; probs: Record<string, number> } };
      expect(Object.keys(affect.expr!.probs)).toHaveLength(7);
    } finally {
      done = true;
      await sending;
    }
    expect((await streamInfo(d, 'cam1'))?.state).toBe('running');
    // A restart reads the same socket's frames again.
    expect((await fetch(`${d.base}/v1/streams/cam1/restart`, { method: 'POST', headers: auth })).status).toBe(200);
    const seen = events.messages.length;
    done = false;
    const again = pushFrames(p, 8, () => done);
    try {
      await waitUntil(() => events.messages.slice(seen).some((m) => m.streamId === 'cam1' && m.type === 'faces' && (m.faces as unknown[]).length === 1), 30_000, 'faces after the restart');
    } finally {
      done = true;
      await again;
    }
    expect((await streamInfo(d, 'cam1'))?.state).toBe('running');
    p.ws.close();
    await events.waitFor((m) => m.streamId === 'cam1' && m.type === 'stream' && m.state === 'removed', 10_000);
    expect(await streamInfo(d, 'cam1')).toBeUndefined();
    // Never persisted, never listed again.
    const list = (await (await fetch(`${d.base}/v1/streams`, { headers: auth })).json()) as { streams: { id: string }[] };
    expect(list.streams.map((s) => s.id)).toEqual(['talk']);
  });

  it('a pusher whose stream the API deleted never removes the stream re-created under that id before its socket closes', async () => {
    const p = await push(d, 'reuse');
    // The client does not read the close frame until later (slow, or deaf to it).
    const raw = (p.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    expect((await fetch(`${d.base}/v1/streams/reuse`, { method: 'DELETE', headers: auth })).status).toBe(204);
    const again = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'reuse', url: media('single_face.mp4'), loop: true }) });
    expect(again.status).toBe(201);
    raw.resume();
    expect((await p.closed).code).toBe(1000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await streamInfo(d, 'reuse')).toMatchObject({ id: 'reuse', kind: 'file' });
    expect((await fetch(`${d.base}/v1/streams/reuse`, { method: 'DELETE', headers: auth })).status).toBe(204);
  });

  it('skips and counts hostile frames while the stream, the daemon and the other streams carry on', async () => {
    const before = await metrics(d);
    const talkFaces = (): number => events.messages.filter((m) => m.streamId === 'talk' && m.type === 'faces').length;
    const talkBefore = talkFaces();
    const p = await push(d, 'cam2');
    // The source is reading before anything is sent (frames queued ahead of it would be dropped as busy).
    await new Promise((r) => setTimeout(r, 1000));
    const garbage = [
      Buffer.from('not a jpeg at all'),
      Buffer.alloc(0),
      frames[0]!.subarray(0, frames[0]!.length / 2), // truncated
      Buffer.concat([frames[0]!.subarray(0, 600), Buffer.alloc(4000, 0x55), Buffer.from([0xff, 0xd9])]), // corrupt scan
      readFileSync(path.join(mediaDir, 'multi_face.jpg')).subarray(0, 3), // a JPEG's magic only
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), // PNG magic: only JPEG is accepted
    ];
    for (const g of garbage) {
      p.ws.send(g);
      await new Promise((r) => setTimeout(r, 150));
    }
    // 2000×1500 declares 3 MP, over ingest.maxPixels (0.9 MP): refused from its header, before decoding.
    const big = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=2000x1500:d=1', '-frames:v', '1', '-f', 'mjpeg', 'pipe:1']);
    expect(big.length).toBeLessThan(256 * 1024);
    p.ws.send(big);
    await new Promise((r) => setTimeout(r, 300));
    await waitUntil(async () => (await metrics(d)).get('va_ingest_frames_refused_total{reason="too_large"}') === (before.get('va_ingest_frames_refused_total{reason="too_large"}') ?? 0) + 1, 10_000, 'the large frame counted');
    const m = await metrics(d);
    expect(m.get('va_ingest_frames_refused_total{reason="undecodable"}')! - (before.get('va_ingest_frames_refused_total{reason="undecodable"}') ?? 0)).toBe(garbage.length);
    expect(m.get('va_decode_errors_total{stream="cam2"}')).toBe(garbage.length + 1);
    expect(p.notices.some((n) => n.type === 'refused' && n.reason === 'undecodable' && (n.error as { code: string }).code === 'VA_ERR_DECODE')).toBe(true);
    expect(p.notices.some((n) => n.type === 'refused' && n.reason === 'too_large' && (n.error as { code: string }).code === 'VA_ERR_SOURCE_TOO_LARGE')).toBe(true);
    // Still running, and real frames after the garbage are analysed.
    expect((await streamInfo(d, 'cam2'))?.state).not.toBe('failed');
    let done = false;
    const sending = pushFrames(p, 8, () => done);
    await events.waitFor((m2) => m2.streamId === 'cam2' && m2.type === 'faces' && (m2.faces as unknown[]).length === 1, 30_000);
    done = true;
    await sending;

    // Too fast: 200 frames at once. The daemon reads them as its event loop gets to them; whatever
    // the pace, at most a second's worth (10) plus 10 a second of the time taken is accepted.
    const count = async (): Promise<{ rate: number; accepted: number }> => {
      const mm = await metrics(d);
      const delta = (k: string): number => (mm.get(k) ?? 0) - (before.get(k) ?? 0);
      return {
        rate: delta('va_ingest_frames_refused_total{reason="rate"}'),
        accepted: Number(mm.get('va_frames_decoded_total{stream="cam2"}')) + (mm.get('va_ingest_frames_refused_total{reason="busy"}') ?? 0),
      };
    };
    const start = await count();
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) p.ws.send(frames[i % frames.length]!);
    let now = start;
    // Every frame of the burst refused or taken (up to the two a channel may still hold).
    await waitUntil(async () => {
      now = await count();
      return now.rate - start.rate + now.accepted - start.accepted >= 198;
    }, 60_000, 'the burst read');
    const seconds = (performance.now() - t0) / 1000;
    expect(now.accepted - start.accepted).toBeLessThanOrEqual(10 + Math.ceil(10 * seconds));
    expect(now.rate - start.rate).toBeGreaterThanOrEqual(200 - 10 - Math.ceil(10 * seconds) - 2);
    expect(p.notices.some((n) => n.reason === 'rate')).toBe(true);

    // Oversize: the message is refused with 1009 before it is buffered, and the stream goes.
    p.ws.send(Buffer.alloc(300 * 1024, 1));
    expect((await p.closed).code).toBe(1009);
    await waitUntil(async () => (await streamInfo(d, 'cam2')) === undefined, 10_000, 'cam2 removed');

    // A text message is not a frame: 1003.
    const t = await push(d, 'cam3');
    t.ws.send('hello');
    expect((await t.closed).code).toBe(1003);

    // The file stream never stopped, and the daemon answers.
    await waitUntil(() => talkFaces() > talkBefore + 5, 20_000, 'talk still analysed');
    expect((await streamInfo(d, 'talk'))?.state).toBe('running');
    expect((await fetch(`${d.base}/healthz`)).status).toBe(200);
  });

  it('refuses pushers it must: no token, another site, a taken id, too many streams per client, bad ids; push: is not an API URL', async () => {
    expect(await refusal(push(d, 'x', { headers: {} }))).toMatchObject({ status: 401, code: 'VA_ERR_UNAUTHORIZED' });
    expect(await refusal(push(d, 'x', { headers: { ...auth, origin: 'https://evil.example' } }))).toMatchObject({ status: 403, code: 'VA_ERR_ORIGIN_FORBIDDEN' });
    expect(await refusal(push(d, 'talk'))).toMatchObject({ status: 409, code: 'VA_ERR_CONFLICT' });
    expect(await refusal(push(d, 'bad%20id'))).toMatchObject({ status: 400, code: 'VA_ERR_BAD_REQUEST' });
    expect(await refusal(push(d, 'x', { query: '?snapshots=all' }))).toMatchObject({ status: 400, code: 'VA_ERR_BAD_REQUEST' });
    // The token may come as ?token= (browsers cannot set headers on a WebSocket).
    const a = await push(d, 'a', { headers: {}, query: `?token=${TOKEN}` });
    expect(await refusal(push(d, 'a'))).toMatchObject({ status: 409, code: 'VA_ERR_CONFLICT' });
    const b = await push(d, 'b');
    expect(await refusal(push(d, 'c'))).toMatchObject({ status: 429, code: 'VA_ERR_LIMIT' });
    a.ws.close();
    await a.closed;
    await waitUntil(async () => (await streamInfo(d, 'a')) === undefined, 10_000, 'a removed');
    const c = await push(d, 'c');
    // Removing a push stream through the API ends its socket.
    expect((await fetch(`${d.base}/v1/streams/c`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await c.closed).code).toBe(1000);
    b.ws.close();
    await b.closed;
    // A handshake ws refuses after the stream was added (bad Sec-WebSocket-Version) leaves no stream behind.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${d.base}/v1/ingest/half`, {
        headers: { ...auth, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '7', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    await waitUntil(async () => (await streamInfo(d, 'half')) === undefined, 10_000, 'no stream left by a refused handshake');
    const plain = await fetch(`${d.base}/v1/ingest/x`, { headers: auth });
    expect(plain.status).toBe(426);
    const api = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'p', url: 'push:p' }) });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_SOURCE_SCHEME');
  });
});

describe('snapshot privacy', () => {
  let d: RunningDaemon;
  let events: EventClient;
  const snap = (id: string, q = ''): Promise<Response> => fetch(`${d.base}/v1/streams/${id}/snapshot.jpg${q}`, { headers: auth });
  const code = async (r: Response): Promise<string> => ((await r.json()) as { error: { code: string } }).error.code;

  beforeAll(async () => {
    d = await startDaemon({
      auth: { token: TOKEN },
      files: { roots: [mediaDir] },
      streams: [
        { id: 'raw', url: media('utterance_1.mp4'), realtime: true, loop: true },
        { id: 'hidden', url: media('utterance_1.mp4'), realtime: true, loop: true, privacy: { snapshots: 'off' } },
      ],
      ingest: { idleTimeoutMs: 2000 },
    });
    events = await EventClient.connect(`${d.ws}?token=${TOKEN}&types=faces`);
  }, 60_000);
  afterAll(async () => {
    events?.close();
    await d?.close();
  });

  it('blur=1 pixelates where the faces are and leaves the rest of the frame as it was', async () => {
    await waitUntil(async () => (await snap('raw')).status === 200, 30_000, 'a first snapshot');
    let raw!: Response;
    let blurred!: Response;
    await waitUntil(async () => {
      raw = await snap('raw');
      blurred = await snap('raw', '?blur=1');
      return raw.headers.get('x-frame-seq') === blurred.headers.get('x-frame-seq');
    }, 10_000, 'two snapshots of one frame');
    expect(raw.headers.get('x-snapshot-blurred')).toBe('0');
    expect(blurred.headers.get('x-snapshot-blurred')).toBe('1');
    const seq = Number(raw.headers.get('x-frame-seq'));
    const toRgb = async (r: Response): Promise<Buffer> => execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: Buffer.from(await r.arrayBuffer()) });
    const a = await toRgb(raw);
    const b = await toRgb(blurred);
    expect(a.length).toBe(640 * 360 * 3);
    const faces = (await events.waitFor((m) => m.type === 'faces' && m.streamId === 'raw' && m.frame === seq, 5000)) as { faces: { box: number[] }[] };
    expect(faces.faces).toHaveLength(1);
    const [x, y, w, h] = faces.faces[0]!.box as [number, number, number, number];
    let inside = 0;
    let insideN = 0;
    let outside = 0;
    let outsideN = 0;
    for (let py = 0; py < 360; py++) {
      for (let px = 0; px < 640; px++) {
        const i = (py * 640 + px) * 3;
        const diff = Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
        if (px >= x && px < x + w && py >= y && py < y + h) {
          inside += diff;
          insideN++;
        } else if (px < x - w / 2 - 16 || px > x + 1.5 * w + 16 || py < y - h / 2 - 16 || py > y + 1.5 * h + 16) {
          outside += diff;
          outsideN++;
        }
      }
    }
    // Inside the face the mosaic changes pixels by far more than JPEG's own noise outside it.
    expect(inside / insideN).toBeGreaterThan(15);
    expect(outside / outsideN).toBeLessThan(3);
  });

  it('privacy.snapshots: off refuses with a clear error, and keeps no frame', async () => {
    await events.waitFor((m) => m.type === 'faces' && m.streamId === 'hidden', 30_000);
    for (const q of ['', '?blur=1', '?annotated=1']) {
      const r = await snap('hidden', q);
      expect(r.status).toBe(403);
      expect(await code(r)).toBe('VA_ERR_SNAPSHOT_FORBIDDEN');
    }
  });

  it('push streams: snapshots off unless the client asks; blurred ones refuse blur=0', async () => {
    const off = await push(d, 'cam-off');
    const blur = await push(d, 'cam-blur', { query: '?snapshots=blurred' });
    let done = false;
    const sending = Promise.all([pushFrames(off, 5, () => done), pushFrames(blur, 5, () => done)]);
    try {
      await events.waitFor((m) => m.type === 'faces' && m.streamId === 'cam-off', 30_000);
      const r = await snap('cam-off');
      expect(r.status).toBe(403);
      expect(await code(r)).toBe('VA_ERR_SNAPSHOT_FORBIDDEN');
      await waitUntil(async () => (await snap('cam-blur')).status === 200, 30_000, 'a blurred snapshot');
      const s = await snap('cam-blur');
      expect(s.headers.get('x-snapshot-blurred')).toBe('1');
      const refused = await snap('cam-blur', '?blur=0');
      expect(refused.status).toBe(403);
      expect(await code(refused)).toBe('VA_ERR_SNAPSHOT_FORBIDDEN');
    } finally {
      done = true;
      await sending;
      off.ws.close();
      blur.ws.close();
      await Promise.all([off.closed, blur.closed]);
      await waitUntil(async () => (await streamInfo(d, 'cam-off')) === undefined && (await streamInfo(d, 'cam-blur')) === undefined, 10_000, 'push streams removed');
    }
  });

  it('closes a push socket that sends nothing for ingest.idleTimeoutMs (1008), and removes its stream', async () => {
    const p = await push(d, 'idle');
    const t0 = performance.now();
    const { code, reason } = await p.closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/ingest\.idleTimeoutMs/);
    // 2 s, checked every 0.5 s; generous for a loaded machine.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1900);
    await waitUntil(async () => (await streamInfo(d, 'idle')) === undefined, 10_000, 'idle removed');
  });
});
