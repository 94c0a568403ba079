/**
 * GET /v1/streams/{id}/snapshot.jpg on a real daemon and a real looped file: auth as the API, a
 * real JPEG (decoded by the ffmpeg CLI), the annotated variant drawing where the faces are, the rate
 * limit on refreshes and encodes, and errors for unknown streams and bad parameters.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';
// Every answer is checked against the committed OpenAPI document (a change of shape fails here).
import { checkedFetch as fetch } from '../helpers/http-contract.js';

// Counts the daemon's JPEG encodes by image size (the real encoder runs): the rate rule is on them.
const encodes = vi.hoisted(() => new Map<string, number>());
vi.mock('../../src/streams/encode-jpeg.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/streams/encode-jpeg.js')>();
  return {
    ...real,
    encodeJpeg: (img: Parameters<typeof real.encodeJpeg>[0], quality?: number) => {
      const size = `${img.width}x${img.height}`;
      encodes.set(size, (encodes.get(size) ?? 0) + 1);
      return real.encodeJpeg(img, quality);
    },
  };
});

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
    // At least 2 s and 10 answers (a loaded machine answers slower; the bound follows the time taken).
    while ((Date.now() - t0 < 2000 || seqs.length < 10) && Date.now() - t0 < 30_000) {
      const res = await fetch(url(), { headers: auth });
      const s = res.headers.get('x-frame-seq')!;
      const body = Buffer.from(await res.arrayBuffer()).toString('base64');
      if (bodies.has(s)) expect(bodies.get(s)).toBe(body);
      bodies.set(s, body);
      seqs.push(s);
    }
    const elapsed = (Date.now() - t0) / 1000;
    expect(seqs.length).toBeGreaterThanOrEqual(10);
    const distinct = new Set(seqs).size;
    expect(distinct).toBeGreaterThanOrEqual(2);
    expect(distinct).toBeLessThanOrEqual(Math.floor(2 * elapsed) + 1);
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

describe('snapshot.jpg of a 4096×2160 source', () => {
  const W = 4096;
  const H = 2160;
  const FPS = 2;
  let d: RunningDaemon;
  let dir: string;
  const url = (q = ''): string => `${d.base}/v1/streams/uhd/snapshot.jpg${q}`;
  // Snapshots are at the analysis resolution (analysis.maxWidth, 640 by default).
  const w = 640;
  const h = Math.round((H * w) / W / 2) * 2;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'va-uhd-'));
    const file = path.join(dir, 'uhd.mp4');
    // Left half red, right half blue, 5 frames a second: every answer can be checked by its pixels.
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=0xff0000:s=${W / 2}x${H}:r=5:d=2[a];color=c=0x0000ff:s=${W / 2}x${H}:r=5:d=2[b];[a][b]hstack`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    d = await startDaemon({
      auth: { token: TOKEN },
      server: { snapshotMaxFps: FPS },
      streams: [{ id: 'uhd', url: file, realtime: true, loop: true }],
    });
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the frame scaled to the analysis width, plain and annotated, with the right pixels', async () => {
    await waitUntil(async () => (await fetch(url(), { headers: auth })).status === 200, 30_000, 'a first snapshot');
    const info = (await (await fetch(`${d.base}/v1/streams/uhd`, { headers: auth })).json()) as { width: number; height: number };
    expect([info.width, info.height]).toEqual([W, H]);
    for (const q of ['', '?annotated=1']) {
      const img = decodeJpeg(Buffer.from(await (await fetch(url(q), { headers: auth })).arrayBuffer()));
      expect(img.width, q).toBe(w);
      expect(Math.abs(img.height - (H * w) / W), q).toBeLessThanOrEqual(1);
      const px = (x: number, y: number): number[] => [...img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
      for (const [x, y] of [[20, 20], [150, 168], [300, 320]] as const) {
        const [r, g, b] = px(x, y);
        expect(r, `${q} red at ${x},${y}`).toBeGreaterThan(200);
        expect(Math.max(g!, b!), `${q} red at ${x},${y}`).toBeLessThan(60);
      }
      for (const [x, y] of [[340, 20], [480, 168], [620, 320]] as const) {
        const [r, g, b] = px(x, y);
        expect(b, `${q} blue at ${x},${y}`).toBeGreaterThan(200);
        expect(Math.max(r!, g!), `${q} blue at ${x},${y}`).toBeLessThan(60);
      }
    }
  });

  it('polled by 16 clients at once: at most snapshotMaxFps encodes per variant, bounded memory, the same bytes per frame', async () => {
    const seconds = 6;
    const key = `${w}x${h}`;
    const before = encodes.get(key) ?? 0;
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const bodies = new Map<string, string>();
    const seqs = new Map<string, Set<string>>([['plain', new Set()], ['annotated', new Set()]]);
    let answers = 0;
    const t0 = Date.now();
    const poller = async (variant: 'plain' | 'annotated'): Promise<void> => {
      while (Date.now() - t0 < seconds * 1000) {
        const r = await fetch(url(variant === 'annotated' ? '?annotated=1' : ''), { headers: auth });
        expect(r.status).toBe(200);
        const body = Buffer.from(await r.arrayBuffer());
        expect(body.readUInt16BE(0)).toBe(0xffd8);
        expect(body.readUInt16BE(body.length - 2)).toBe(0xffd9);
        const seq = r.headers.get('x-frame-seq')!;
        const hash = body.toString('base64');
        const k = `${variant}:${seq}`;
        if (bodies.has(k)) expect(bodies.get(k), k).toBe(hash);
        bodies.set(k, hash);
        seqs.get(variant)!.add(seq);
        answers++;
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    };
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: 16 }, (_, i) => poller(i % 2 === 0 ? 'plain' : 'annotated')));
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (Date.now() - t0) / 1000;
    const encoded = (encodes.get(key) ?? 0) - before;
    // Frames are copied at most FPS times a second (+1 at the window's edge), each encoded at most once per variant.
    const copies = Math.floor(elapsed * FPS) + 1;
    expect(answers).toBeGreaterThan(4 * copies);
    expect(encoded).toBeLessThanOrEqual(2 * copies);
    expect(encoded).toBeGreaterThanOrEqual(2);
    for (const [variant, s] of seqs) expect(s.size, variant).toBeLessThanOrEqual(copies);
    // Decoded 4096×2160 frames are 13 MB each (yuv420p) and a few are in flight; requests add nothing per request.
    expect(rssPeak - rssBefore).toBeLessThan(300 * 1024 * 1024);
    console.log(
      `4096×2160 source, snapshots ${key}: ${answers} answers in ${elapsed.toFixed(1)} s from 16 clients, ${encoded} encodes (≤ ${2 * copies}), RSS +${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB, process CPU ${((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)} cores`,
    );
  });
});
