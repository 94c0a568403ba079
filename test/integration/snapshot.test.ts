/**
 * GET /v1/streams/{id}/snapshot.jpg on a real daemon and a real looped file: auth as the API, a
 * real JPEG (decoded by the ffmpeg CLI), the annotated variant drawing where the faces are, the rate
 * limit on refreshes and encodes, and errors for unknown streams and bad parameters.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

const TOKEN = 'snapshot-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

function decodeJpeg(jpeg: Buffer): { width: number; height: number; rgb: Buffer } {
  const info = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height,codec_name', '-of', 'json', '-i', 'pipe:0'], { input: jpeg }).toString()) as {
    streams: { width: number; height: number; codec_name: string }[];
  };
  const s = info.streams[0]!;
  expect(s.codec_name).toBe('mjpeg');
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: jpeg, maxBuffer: 64 << 20 });
  return { width: s.width, height: s.height, rgb };
}

describe('snapshot.jpg', () => {
  let d: RunningDaemon;
  let client: EventClient;
  const url = (q = ''): string => `${d.base}/v1/streams/talk/snapshot.jpg${q}`;

  beforeAll(async () => {
    d = await startDaemon({
      auth: { token: TOKEN },
      files: { roots: [mediaDir] },
      server: { snapshotMaxFps: 2 },
      model: { dir: await importTestModel('cnn') },
      streams: [{ id: 'talk', url: media('utterance_1.mp4'), realtime: true, loop: true }],
    });
    client = await EventClient.connect(`${d.ws}?token=${TOKEN}&types=faces`);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await d?.close();
  });

  it('needs the token, like the API', async () => {
    expect((await fetch(url())).status).toBe(401);
    expect((await fetch(url(), { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  });

  it('serves the latest analysed frame as JPEG; the annotated one draws where the faces are', async () => {
    let res: Response | undefined;
    await waitUntil(async () => (res = await fetch(url(), { headers: auth })).status === 200, 30_000, 'a first snapshot');
    expect(res!.headers.get('content-type')).toBe('image/jpeg');
    expect(res!.headers.get('cache-control')).toBe('no-store');
    // Plain and annotated of the same frame (retry if a refresh fell in between).
    let plain!: Buffer;
    let annotated!: Buffer;
    let seq = '';
    await waitUntil(async () => {
      const a = await fetch(url(), { headers: auth });
      const b = await fetch(url('?annotated=1'), { headers: auth });
      plain = Buffer.from(await a.arrayBuffer());
      annotated = Buffer.from(await b.arrayBuffer());
      seq = a.headers.get('x-frame-seq') ?? '';
      return seq !== '' && seq === b.headers.get('x-frame-seq');
    }, 10_000, 'two snapshots of one frame');
    const p = decodeJpeg(plain);
    const a = decodeJpeg(annotated);
    expect([p.width, p.height]).toEqual([640, 360]);
    expect([a.width, a.height]).toEqual([640, 360]);
    const faces = (await client.waitFor((m) => m.type === 'faces' && m.frame === Number(seq), 5000)) as { faces: { box: number[] }[]; width: number };
    expect(faces.faces.length).toBe(1);
    const [bx, by, bw, bh] = faces.faces[0]!.box as [number, number, number, number];
    let changed = 0;
    let near = 0;
    for (let y = 0; y < 360; y++) {
      for (let x = 0; x < 640; x++) {
        const i = (y * 640 + x) * 3;
        if (Math.max(Math.abs(p.rgb[i]! - a.rgb[i]!), Math.abs(p.rgb[i + 1]! - a.rgb[i + 1]!), Math.abs(p.rgb[i + 2]! - a.rgb[i + 2]!)) <= 60) continue;
        changed++;
        if (x >= bx - 8 && x <= bx + Math.max(bw, 200) + 8 && y >= by - 24 && y <= by + bh + 8) near++;
      }
    }
    expect(changed).toBeGreaterThan(300);
    expect(near / changed).toBeGreaterThan(0.97);
  });

  it('refreshes at most snapshotMaxFps times a second, and serves the cached JPEG in between', async () => {
    const seqs: string[] = [];
    const bodies = new Map<string, string>();
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) {
      const res = await fetch(url(), { headers: auth });
      const s = res.headers.get('x-frame-seq')!;
      const body = Buffer.from(await res.arrayBuffer()).toString('base64');
      if (bodies.has(s)) expect(bodies.get(s)).toBe(body);
      bodies.set(s, body);
      seqs.push(s);
    }
    expect(seqs.length).toBeGreaterThan(10);
    const distinct = new Set(seqs).size;
    expect(distinct).toBeGreaterThanOrEqual(2);
    expect(distinct).toBeLessThanOrEqual(2 * 2 + 1);
  });

  it('answers clear errors', async () => {
    const bad = await fetch(url('?annotated=yes'), { headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_BAD_REQUEST');
    expect((await fetch(url(), { method: 'POST', headers: auth })).status).toBe(405);
    const missing = await fetch(`${d.base}/v1/streams/nope/snapshot.jpg`, { headers: auth });
    expect(missing.status).toBe(404);
    expect((await fetch(`${d.base}/v1/streams/talk`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await fetch(url(), { headers: auth })).status).toBe(404);
  });
});
