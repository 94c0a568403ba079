/**
 * The live page in a real browser (Debian's chromium, driven by playwright-core) against a real
 * daemon on a real looped file with a (test-only) CNN-RNN model: the token prompt and a wrong token,
 * the overview, the stream view's canvas with boxes and live bars, remove. With VA_SCREENSHOTS=1 the
 * screenshots for the README are written to dashboards/screenshots/.
 */
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CHROMIUM, launchBrowser } from '../helpers/browser.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

const TOKEN = 'live-page-test-token-0123456789';

// The few DOM shapes the page-side callbacks touch (the project compiles without the DOM library).
interface Canvas2D {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: Uint8ClampedArray } } | null;
}
interface WithDataset {
  readonly dataset: Record<string, string | undefined>;
}
const shots = process.env.VA_SCREENSHOTS === '1' ? path.join(repoRoot, 'dashboards', 'screenshots') : undefined;

describe('live page in chromium', () => {
  let d: RunningDaemon;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const pageErrors: string[] = [];
  const external: string[] = [];

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian package chromium)`).toBe(true);
    d = await startDaemon({
      auth: { token: TOKEN },
      files: { roots: [mediaDir] },
      model: { dir: await importTestModel('cnn-rnn'), stride: 2 },
      streams: [
        { id: 'talk', url: media('utterance_1.mp4'), realtime: true, loop: true },
        { id: 'gone', url: path.join(mediaDir, 'no-such-file.mp4') },
      ],
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(d.base) && !r.url().startsWith(d.ws.replace('/v1/events', ''))) external.push(r.url());
    });
    if (shots) mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('asks for the token and shows an error for a wrong one', async () => {
    await page.goto(d.base);
    const error = page.locator('#error');
    await expect.poll(() => error.textContent(), { timeout: 10_000 }).toMatch(/Unauthorized/);
    await page.fill('#token', 'not-the-right-token-at-all');
    await page.click('#token-form button');
    await page.waitForTimeout(1500);
    expect(await error.isVisible()).toBe(true);
    expect(await error.textContent()).toMatch(/Unauthorized/);
    expect(await page.locator('#streams tbody tr').count()).toBe(0);
  });

  it('lists the streams live once the token is right', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await expect.poll(() => page.locator('#error').isVisible(), { timeout: 10_000 }).toBe(false);
    const row = page.locator('tr[data-stream="talk"]');
    await expect.poll(() => row.locator('[data-k="state"]').textContent(), { timeout: 15_000 }).toBe('running');
    await expect.poll(() => page.locator('tr[data-stream="gone"] [data-k="state"]').textContent(), { timeout: 10_000 }).toBe('failed');
    expect(await page.locator('tr[data-stream="gone"] [data-k="error"]').textContent()).toMatch(/VA_ERR_SOURCE_NOT_FOUND/);
    // Rates come from successive polls (their value depends on the machine's load, not checked here).
    await expect.poll(async () => Number((await row.locator('[data-k="fps"]').textContent())?.split('/')[0]), { timeout: 15_000 }).toBeGreaterThan(1);
    await expect.poll(async () => Number(await row.locator('[data-k="faces"]').textContent()), { timeout: 15_000 }).toBe(1);
    if (shots) await page.screenshot({ path: path.join(shots, 'overview.png') });
  });

  it('shows the stream: the frame with the face box on a canvas, and live bars per track', async () => {
    await page.click('tr[data-stream="talk"] a');
    const canvas = page.locator('#frame');
    await expect.poll(async () => Number(await canvas.getAttribute('data-faces')), { timeout: 15_000 }).toBe(1);
    await expect.poll(async () => Number(await canvas.getAttribute('data-seq')), { timeout: 15_000 }).toBeGreaterThan(0);
    // The box is drawn in the track palette over the (dark) frame.
    const boxPixels = await canvas.evaluate((el) => {
      const c = el as unknown as Canvas2D;
      const palette = [[80, 200, 120], [90, 160, 250], [250, 170, 60], [230, 90, 200], [240, 230, 80], [90, 220, 220]];
      const img = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < img.length; i += 4) if (palette.some((p) => Math.abs(p[0]! - img[i]!) + Math.abs(p[1]! - img[i + 1]!) + Math.abs(p[2]! - img[i + 2]!) < 12)) n++;
      return { n, w: c.width, h: c.height };
    });
    expect([boxPixels.w, boxPixels.h]).toEqual([640, 360]);
    expect(boxPixels.n).toBeGreaterThan(300);
    const card = page.locator('.track').first();
    await expect.poll(() => card.locator('.expr .bar').count(), { timeout: 20_000 }).toBe(7);
    expect(await card.locator('.au .bar').count()).toBe(8);
    expect(await card.locator('.au .bar').evaluateAll((bars) => bars.map((b) => (b as unknown as WithDataset).dataset.label))).toEqual(['AU1', 'AU2', 'AU4', 'AU6', 'AU12', 'AU15', 'AU20', 'AU25']);
    expect(await card.locator('.va .absent').isVisible()).toBe(false);
    const read = (): Promise<string[]> => card.locator('.bar').evaluateAll((bars) => bars.map((b) => (b as unknown as WithDataset).dataset.p ?? ''));
    const first = await read();
    await expect.poll(async () => (await read()).join(), { timeout: 10_000 }).not.toBe(first.join());
    // The circumplex and the timeline have something drawn on them.
    const drawn = await card.locator('canvas').evaluateAll((cs) =>
      cs.map((el) => {
        const c = el as unknown as Canvas2D;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      }),
    );
    for (const n of drawn) expect(n).toBeGreaterThan(200);
    if (shots) {
      await page.waitForTimeout(3000);
      await page.screenshot({ path: path.join(shots, 'stream-view.png'), fullPage: true });
    }
  });

  it('shows hostile text from the daemon as text (a stream URL carrying markup)', async () => {
    await page.goto(`${d.base}/#/`);
    await page.fill('#add-form [name=id]', 'evil');
    // The real path: the file roots are compared after resolving symlinks.
    await page.fill('#add-form [name=url]', path.join(realpathSync(mediaDir), '<img src=x onerror="window.pwned=1">.mp4'));
    await page.click('#add-form button');
    const cell = page.locator('tr[data-stream="evil"] [data-k="error"]');
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toContain('<img src=x onerror="window.pwned=1">');
    expect(await page.locator('tr[data-stream="evil"] img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    // An API refusal shows as an error on the page.
    await page.fill('#add-form [name=id]', 'evil');
    await page.fill('#add-form [name=url]', 'gopher://nowhere');
    await page.click('#add-form button');
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 5000 }).toMatch(/VA_ERR_/);
    expect((await fetch(`${d.base}/v1/streams/evil`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204);
  });

  it('removes a stream and the overview follows', async () => {
    await page.goto(`${d.base}/#/`);
    const row = page.locator('tr[data-stream="talk"]');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    await row.locator('button.remove').click();
    await row.locator('button.remove').click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    const list = (await (await fetch(`${d.base}/v1/streams`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { streams: { id: string }[] };
    expect(list.streams.map((s) => s.id)).toEqual(['gone']);
  });

  it('raised no page errors and loaded nothing from elsewhere', () => {
    expect(pageErrors).toEqual([]);
    expect(external).toEqual([]);
  });
});


describe('live page without a model (faces only, no token)', () => {
  let d: RunningDaemon;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    d = await startDaemon({ files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime: true, loop: true }] });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('draws the boxes and shows every affect task as absent, not as zeros', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${d.base}/#/stream/cam`);
    await expect.poll(async () => Number(await page.locator('#frame').getAttribute('data-faces')), { timeout: 20_000 }).toBe(1);
    const card = page.locator('.track').first();
    await expect.poll(() => card.locator('.expr .absent').textContent(), { timeout: 10_000 }).toBe('no affect model (faces only)');
    expect(await card.locator('.au .absent').textContent()).toBe('no affect model (faces only)');
    expect(await card.locator('.va .absent').isVisible()).toBe(true);
    expect(await card.locator('.bar').count()).toBe(0);
    expect(await page.locator('#error').isVisible()).toBe(false);
  });

  it('keeps drawing with several streams flooding events (as fast as the files decode)', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `fast${i}`, url: media('single_face.mp4'), realtime: false, loop: true }) });
      expect(res.status).toBe(201);
    }
    const page = await browser.context.newPage();
    await page.goto(`${d.base}/`);
    await expect.poll(() => page.locator('#streams tbody tr [data-k="state"]').allTextContents(), { timeout: 20_000 }).toEqual(Array(6).fill('running'));
    await page.click('tr[data-stream="fast0"] a');
    await expect.poll(async () => Number(await page.locator('#frame').getAttribute('data-faces')), { timeout: 20_000 }).toBe(1);
    // The page stays responsive: animation frames keep coming while events pour in.
    const frames = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const raf = (cb: () => void): number => (globalThis as unknown as { requestAnimationFrame(cb: () => void): number }).requestAnimationFrame(cb);
          let n = 0;
          const t0 = performance.now();
          const tick = (): void => {
            n++;
            if (performance.now() - t0 < 1000) raf(tick);
            else resolve(n);
          };
          raf(tick);
        }),
    );
    console.log(`live page: ${frames} animation frames in 1 s with 6 streams flooding events`);
    expect(frames).toBeGreaterThan(5);
  });
});
