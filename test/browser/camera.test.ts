/**
 * "Analyse my camera" in a real browser (Debian's chromium driven by playwright-core) against a real
 * daemon with a (test-only) CNN-RNN model: chromium's fake camera plays a clip of the committed
 * media (converted to Y4M by ffmpeg in the test's temp dir), the page pushes its frames over
 * /v1/ingest/{id}, and the results come back onto the page: boxes drawn over the frames the page
 * sent, expression bars for the track, a `push` stream in the API while the view is open, gone
 * when the camera stops or the page closes. Snapshots of the camera stream are off.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser } from '../helpers/browser.js';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

const TOKEN = 'camera-page-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Canvas2D {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: Uint8ClampedArray } } | null;
}
interface WithDataset {
  readonly dataset: Record<string, string | undefined>;
}

let dir: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let d: RunningDaemon;
let events: EventClient;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian package chromium)`).toBe(true);
  dir = mkdtempSync(path.join(tmpdir(), 'va-camera-'));
  const y4m = path.join(dir, 'camera.y4m');
  // 6 s of a talking face, 640×360 at 10 fps (chromium loops it).
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', media('utterance_1.mp4'), '-t', '6', '-vf', 'fps=10,scale=640:360', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', y4m]);
  browser = await launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`]);
  d = await startDaemon({ auth: { token: TOKEN }, model: { dir: await importTestModel('cnn-rnn'), stride: 2 } });
  events = await EventClient.connect(`${d.ws}?token=${TOKEN}`);
}, 90_000);
afterAll(async () => {
  events?.close();
  await browser?.close();
  await d?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function pushStreams(): Promise<{ id: string; kind: string; origin: string; state: string }[]> {
  const list = (await (await fetch(`${d.base}/v1/streams`, { headers: auth })).json()) as { streams: { id: string; kind: string; origin: string; state: string }[] };
  return list.streams.filter((s) => s.kind === 'push');
}

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(d.base);
  await page.fill('#token', TOKEN);
  await page.click('#token-form button');
  await expect.poll(() => page.locator('#error').isVisible(), { timeout: 10_000 }).toBe(false);
  return { page, errors };
}

describe('analyse my camera', () => {
  it('pushes the camera to the daemon and shows faces and expressions for it over the local frames', async () => {
    const { page, errors } = await openPage();
    await page.selectOption('#camera-form [name=fps]', '5');
    await page.click('#camera-start');
    await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).toBe('#/camera');
    // The daemon has the camera as a push stream, from the API's point of view like any other.
    await waitUntil(async () => (await pushStreams()).some((s) => s.state === 'running'), 30_000, 'a running push stream');
    const [stream] = await pushStreams();
    expect(stream).toMatchObject({ kind: 'push', origin: 'ingest' });
    expect(stream!.id).toMatch(/^camera-[0-9a-z]+$/);
    expect(await page.locator('#sv-title').textContent()).toBe(stream!.id);
    // Faces and expression events of the pushed stream reach the daemon's event socket …
    await events.waitFor((m) => m.streamId === stream!.id && m.type === 'faces' && (m.faces as unknown[]).length === 1, 30_000);
    await events.waitFor((m) => m.streamId === stream!.id && m.type === 'affect' && m.expr !== undefined, 30_000);
    // … and the page: one box over the camera's frame, and the track's expression bars moving.
    const canvas = page.locator('#frame');
    await expect.poll(async () => Number(await canvas.getAttribute('data-faces')), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => Number(await canvas.getAttribute('data-seq')), { timeout: 15_000 }).toBeGreaterThan(0);
    const drawn = await canvas.evaluate((el) => {
      const c = el as unknown as Canvas2D;
      const palette = [[80, 200, 120], [90, 160, 250], [250, 170, 60], [230, 90, 200], [240, 230, 80], [90, 220, 220]];
      const img = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let box = 0;
      let lit = 0;
      for (let i = 0; i < img.length; i += 4) {
        if (palette.some((p) => Math.abs(p[0]! - img[i]!) + Math.abs(p[1]! - img[i + 1]!) + Math.abs(p[2]! - img[i + 2]!) < 12)) box++;
        if (img[i]! + img[i + 1]! + img[i + 2]! > 60) lit++;
      }
      return { box, lit, w: c.width, h: c.height };
    });
    // The camera's own frame (640×360, not black) under the box.
    expect([drawn.w, drawn.h]).toEqual([640, 360]);
    expect(drawn.lit).toBeGreaterThan(640 * 360 * 0.3);
    expect(drawn.box).toBeGreaterThan(300);
    const card = page.locator('.track').first();
    await expect.poll(() => card.locator('.expr .bar').count(), { timeout: 30_000 }).toBe(7);
    const read = (): Promise<string> => card.locator('.expr .bar').evaluateAll((bars) => bars.map((b) => (b as unknown as WithDataset).dataset.p ?? '').join());
    const first = await read();
    await expect.poll(read, { timeout: 20_000 }).not.toBe(first);
    // The camera stream keeps no snapshot: push streams' snapshots are off unless asked for.
    const snap = await fetch(`${d.base}/v1/streams/${stream!.id}/snapshot.jpg`, { headers: auth });
    expect(snap.status).toBe(403);
    expect(((await snap.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_SNAPSHOT_FORBIDDEN');

    // Another viewer of the camera stream gets boxes and tracks from the events but no frame, told so, not as an error.
    const other = await openPage();
    await other.page.goto(`${d.base}/#/stream/${stream!.id}`);
    await expect.poll(() => other.page.locator('#frame-note').textContent(), { timeout: 15_000 }).toMatch(/^no frame: .*privacy\.snapshots: off/);
    await expect.poll(async () => Number(await other.page.locator('#frame').getAttribute('data-faces')), { timeout: 30_000 }).toBe(1);
    expect(await other.page.locator('#error').isVisible()).toBe(false);
    expect(other.errors).toEqual([]);
    await other.page.close();

    // Stop: the socket closes and the daemon removes the stream.
    await page.click('#camera-stop');
    await events.waitFor((m) => m.streamId === stream!.id && m.type === 'stream' && m.state === 'removed', 15_000);
    expect(await pushStreams()).toEqual([]);
    expect(new URL(page.url()).hash).toBe('#/');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('removes the stream when the page closes', async () => {
    const { page, errors } = await openPage();
    await page.click('#camera-start');
    await waitUntil(async () => (await pushStreams()).length === 1, 30_000, 'a push stream');
    const [stream] = await pushStreams();
    expect(errors).toEqual([]);
    await page.close();
    await events.waitFor((m) => m.streamId === stream!.id && m.type === 'stream' && m.state === 'removed', 15_000);
    expect(await pushStreams()).toEqual([]);
  });
});
