/**
 * The live page in a real browser (Debian's chromium, driven by playwright-core) against a real
 * daemon on a real looped file with a (test-only) CNN-RNN model: the token prompt and a wrong token,
 * the overview, the stream view's canvas with boxes and live bars, remove; hostile URL hashes; with
 * the default (expressions-only) model, the expression timeline and a card order that holds still
 * while faces come and go. With VA_SCREENSHOTS=1 the screenshots for the README are written to
 * dashboards/screenshots/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CHROMIUM, launchBrowser } from '../helpers/browser.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';
import { defaultModelDir } from '../../src/paths.js';

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

// One chromium for the whole file: each test opens its own page (a page's token lives in its sessionStorage).
let browser: Awaited<ReturnType<typeof launchBrowser>>;
beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian package chromium)`).toBe(true);
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Closes the pages a describe opened: pages left open on the shared browser would keep polling and drawing. */
async function closePages(): Promise<void> {
  for (const p of browser?.context.pages() ?? []) await p.close();
}

describe('live page in chromium', () => {
  let d: RunningDaemon;
  let page: Page;
  const pageErrors: string[] = [];
  const external: string[] = [];

  beforeAll(async () => {
    d = await startDaemon({
      auth: { token: TOKEN },
      files: { roots: [mediaDir] },
      model: { dir: await importTestModel('cnn-rnn'), stride: 2 },
      streams: [
        { id: 'talk', url: media('utterance_1.mp4'), realtime: true, loop: true },
        { id: 'gone', url: path.join(mediaDir, 'no-such-file.mp4') },
      ],
    });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(d.base) && !r.url().startsWith(d.ws.replace('/v1/events', ''))) external.push(r.url());
    });
    if (shots) mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await page?.close();
    await d?.close();
  });

  it('asks for the token and shows an error for a wrong one', async () => {
    await page.goto(d.base);
    const error = page.locator('#error');
    await expect.poll(() => error.textContent(), { timeout: 10_000 }).toMatch(/Unauthorized/);
    await page.fill('#token', 'not-the-right-token-at-all');
    // Two answers to the wrong token (the submit's refresh, then the next poll): the first was shown by then.
    let refused = 0;
    const onResponse = (r: { url(): string; status(): number; request(): { headers(): Record<string, string> } }): void => {
      if (r.url() === `${d.base}/v1/streams` && r.status() === 401 && r.request().headers().authorization === 'Bearer not-the-right-token-at-all') refused++;
    };
    page.on('response', onResponse);
    await page.click('#token-form button');
    await expect.poll(() => refused, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    page.off('response', onResponse);
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

  it("shows the members' spread as a band on the timeline, and values relative to the baseline with the toggle", async () => {
    // Still on the stream view of the test before: a two-member CNN-RNN model, so events carry va.std.
    const card = page.locator('.track:not(.ended)').first();
    const legend = card.locator('.history .legend');
    await expect.poll(() => legend.textContent(), { timeout: 15_000 }).toContain("± members' std");
    // A new track has no baseline for baseline.minSeconds (5 s of stream time), then a running one.
    await expect.poll(() => legend.textContent(), { timeout: 30_000 }).toContain('baseline: running');
    const timeline = card.locator('canvas.timeline');
    // The band is a translucent fill (alpha 0.18 on a cleared canvas); lines and the expression band are opaque.
    const bandPixels = (): Promise<number> =>
      timeline.evaluate((el) => {
        const c = el as unknown as Canvas2D;
        const img = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < img.length; i += 4) if (img[i]! > 25 && img[i]! < 75) n++;
        return n;
      });
    await expect.poll(bandPixels, { timeout: 10_000 }).toBeGreaterThan(50);
    const toggle = card.locator('.history .relative input');
    await toggle.check();
    expect(await toggle.isChecked()).toBe(true);
    // Relative to the baseline the lines sit around 0 and the band follows them: still drawn.
    await expect.poll(bandPixels, { timeout: 10_000 }).toBeGreaterThan(50);
    await toggle.uncheck();
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

  beforeAll(async () => {
    d = await startDaemon({ files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime: true, loop: true }] });
  }, 60_000);
  afterAll(async () => {
    await closePages();
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

describe('live page under hostile URL hashes', () => {
  let d: RunningDaemon;

  beforeAll(async () => {
    d = await startDaemon({ files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime: true, loop: true }] });
  }, 60_000);
  afterAll(async () => {
    await closePages();
    await d?.close();
  });

  // What each hash must show: an unknown stream (nothing asked of the API for it) or the overview.
  // [what it is, the hash, what the page must show]
  const hostile: [string, string, 'unknown stream' | 'overview'][] = [
    ['a truncated UTF-8 escape', '#/stream/%E0%A4%A', 'unknown stream'],
    ['a lone %', '#/stream/%', 'unknown stream'],
    ['a bad escape and a NUL', '#/stream/%ZZ%00', 'unknown stream'],
    ['an empty stream id', '#/stream/', 'overview'],
    ['a NUL route', '#/%00', 'overview'],
    ['a bad escape in an unknown route', '#/%E0%A4%A', 'overview'],
    ['a 100 KB stream id', `#/stream/${'a'.repeat(100_000)}`, 'unknown stream'],
    ['100 KB of %', `#/${'%'.repeat(100_000)}`, 'overview'],
    ['markup as the stream id', '#/stream/<img src=x onerror="window.pwned=1">', 'unknown stream'],
    ['an encoded path traversal', '#/stream/..%2F..%2Fv1%2Fstreams', 'unknown stream'],
  ];

  const setHash = (page: Page, hash: string): Promise<string> => page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);

  async function openPage(): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    page.on('websocket', (ws) => requests.push(ws.url()));
    return { page, errors, requests };
  }

  /** The overview is alive: its poll keeps coming and the stream's decode rate is drawn from it. */
  async function expectPolling(expect: ExpectStatic, page: Page, requests: string[]): Promise<void> {
    const polls = (): number => requests.filter((u) => u === `${d.base}/v1/streams`).length;
    const before = polls();
    await expect.poll(polls, { timeout: 15_000 }).toBeGreaterThan(before + 2);
    await expect.poll(async () => Number((await page.locator('tr[data-stream="cam"] [data-k="fps"]').textContent())?.split('/')[0]), { timeout: 15_000 }).toBeGreaterThan(1);
  }

  async function expectShown(expect: ExpectStatic, page: Page, requests: string[], hash: string, shown: 'unknown stream' | 'overview'): Promise<void> {
    if (shown === 'overview') {
      await expect.poll(() => page.locator('#overview').isVisible(), { timeout: 5000 }).toBe(true);
      expect(await page.locator('#stream-view').isVisible()).toBe(false);
      return;
    }
    await expect.poll(() => page.locator('#stream-view').isVisible(), { timeout: 5000 }).toBe(true);
    expect(await page.locator('#overview').isVisible()).toBe(false);
    expect(await page.locator('#sv-state').textContent(), hash.slice(0, 60)).toBe('no such stream');
    // A hash is shown as (shortened) text, never as markup, and never sent to the API.
    expect((await page.locator('#sv-title').textContent())!.length).toBeLessThan(200);
    expect(await page.locator('#stream-view img').count()).toBe(0);
    const forIt = requests.filter((u) => (u.includes('/snapshot.jpg') && !u.includes('/v1/streams/cam/')) || (u.includes('streams=') && !u.includes('streams=cam&')));
    expect(forIt, hash.slice(0, 60)).toEqual([]);
  }

  // Each on its own page against the one daemon: they run at once (vitest's maxConcurrency, 5, at a time).
  it.concurrent.for(hostile)('loads with %s in the hash and stays alive', async ([, hash, shown], { expect }) => {
    const { page, errors, requests } = await openPage();
    await page.goto(`${d.base}/${hash}`);
    await expectPolling(expect, page, requests);
    await expectShown(expect, page, requests, hash, shown);
    // Switching to a real stream afterwards works.
    await setHash(page, '#/stream/cam');
    await expect.poll(async () => Number(await page.locator('#frame').getAttribute('data-faces')), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('#sv-title').textContent()).toBe('cam');
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('survives every hostile hash in turn on an open page, then opens a real stream', async () => {
    const { page, errors, requests } = await openPage();
    await page.goto(`${d.base}/#/stream/cam`);
    await expect.poll(async () => Number(await page.locator('#frame').getAttribute('data-faces')), { timeout: 20_000 }).toBe(1);
    for (const [, hash, shown] of hostile) {
      await setHash(page, hash);
      requests.length = 0;
      await expectShown(expect, page, requests, hash, shown);
    }
    await expectPolling(expect, page, requests);
    await setHash(page, '#/stream/cam');
    await expect.poll(() => page.locator('#sv-state').textContent(), { timeout: 10_000 }).toBe('running');
    await expect.poll(async () => Number(await page.locator('#frame').getAttribute('data-seq')), { timeout: 20_000 }).toBeGreaterThan(0);
    await setHash(page, '#/');
    await expect.poll(() => page.locator('tr[data-stream="cam"] [data-k="state"]').textContent(), { timeout: 10_000 }).toBe('running');
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** One track card as the page shows it: its track, whether it has ended, which DOM element it is. */
interface Card {
  readonly id: number;
  readonly ended: boolean;
  readonly el: number;
}
const show = (cards: readonly Card[]): string => `[${cards.map((c) => `${c.id}${c.ended ? ' ended' : ''} (el ${c.el})`).join(', ')}]`;

/** Records every change of the stream view's card list from now on; the returned call reads it. */
async function recordCards(page: Page): Promise<() => Promise<Card[][]>> {
  await page.evaluate(() => {
    type El = WithDataset & { classList: { contains(c: string): boolean } };
    const g = globalThis as unknown as {
      document: { querySelector(s: string): { children: ArrayLike<El> } };
      MutationObserver: new (cb: () => void) => { observe(n: unknown, o: Record<string, unknown>): void };
      cardLog: { id: number; ended: boolean; el: number }[][];
    };
    const root = g.document.querySelector('#tracks');
    const serial = new WeakMap<El, number>();
    let next = 0;
    g.cardLog = [];
    let last = '';
    const record = (): void => {
      const cards = Array.from(root.children).map((c) => {
        if (!serial.has(c)) serial.set(c, next++);
        return { id: Number(c.dataset.track), ended: c.classList.contains('ended'), el: serial.get(c)! };
      });
      const key = JSON.stringify(cards);
      if (key !== last) g.cardLog.push(cards);
      last = key;
    };
    record();
    new g.MutationObserver(record).observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
  });
  return () => page.evaluate(() => (globalThis as unknown as { cardLog: Card[][] }).cardLog);
}

/** Live cards first, in the order their tracks started (ids count up in start order), ended ones after; one element per track. */
function expectStableCards(seen: Card[][], what: string): void {
  console.log(`live page (${what}): the card list over the run: ${seen.map(show).join(' → ')}`);
  const elementOf = new Map<number, number>();
  for (const cards of seen) {
    const live = cards.filter((c) => !c.ended);
    expect(cards.slice(0, live.length), show(cards)).toEqual(live);
    expect(live.map((c) => c.id), show(cards)).toEqual(live.map((c) => c.id).sort((a, b) => a - b));
    for (const c of cards) {
      if (elementOf.has(c.id)) expect(c.el, `track ${c.id}: ${show(cards)}`).toBe(elementOf.get(c.id));
      else elementOf.set(c.id, c.el);
    }
  }
}

describe('live page with the default model (expressions only)', () => {
  let d: RunningDaemon;
  let twoFaces: string;
  let dir: string | undefined;

  beforeAll(async () => {
    // Two faces in one picture: the talking man above (there throughout), the face that leaves below.
    dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'va-two-faces-')));
    twoFaces = path.join(dir, 'two-faces.mp4');
    const stack = '[0:v]scale=640:360,setsar=1,fps=30[a];[1:v]scale=640:360,setsar=1,fps=30[b];[a][b]vstack=inputs=2';
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', media('utterance_1.mp4'), '-i', media('face_noface.mov'), '-filter_complex', stack, '-t', '6.4', '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', twoFaces]);
    expect(r.status, r.stderr.toString()).toBe(0);
    d = await startDaemon({
      files: { roots: [mediaDir, dir] },
      analysis: { analysisFps: 10 },
      model: { dir: defaultModelDir, smoothing: 'ema' },
      // A face that leaves the frame and comes back on every loop: tracks end while others start.
      streams: [{ id: 'leave', url: media('face_noface.mov'), realtime: true, loop: true }],
    });
  }, 60_000);
  afterAll(async () => {
    await closePages();
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the expression timeline with the line drawn on it', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${d.base}/#/stream/leave`);
    const card = page.locator('.track:not(.ended)').first();
    await expect.poll(() => card.locator('.expr .bar').count(), { timeout: 30_000 }).toBe(7);
    expect(await card.locator('.va .absent').textContent()).toBe('valence/arousal: not provided by this model');
    const timeline = card.locator('canvas.timeline');
    await expect.poll(() => timeline.isVisible(), { timeout: 5000 }).toBe(true);
    // The p(expression) line is drawn in the track's colour (the grid alone has none of it).
    const linePixels = (): Promise<number> =>
      timeline.evaluate((el) => {
        const c = el as unknown as Canvas2D & WithDataset & { closest(s: string): WithDataset | null };
        const palette = [[80, 200, 120], [90, 160, 250], [250, 170, 60], [230, 90, 200], [240, 230, 80], [90, 220, 220]];
        const id = Number(c.closest('.track')!.dataset.track);
        const want = palette[((id % 6) + 6) % 6]!;
        const img = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < img.length; i += 4) if (img[i + 3]! > 200 && Math.abs(want[0]! - img[i]!) + Math.abs(want[1]! - img[i + 1]!) + Math.abs(want[2]! - img[i + 2]!) < 24) n++;
        return n;
      });
    await expect.poll(linePixels, { timeout: 15_000 }).toBeGreaterThan(40);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps live tracks first in the order they started, ended ones after, each card in place', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${d.base}/#/stream/leave`);
    await expect.poll(() => page.locator('.track').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const log = await recordCards(page);
    // Wait until the list has shown an ended card beside a live one (the face back on the next loop).
    await expect.poll(async () => (await log()).some((cards) => cards.some((c) => c.ended) && cards.some((c) => !c.ended)), { timeout: 60_000, interval: 500 }).toBe(true);
    expectStableCards(await log(), 'one face leaving');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('does not move a live card when another track ends (two faces, one leaving)', async () => {
    const auth = { 'content-type': 'application/json' };
    expect((await fetch(`${d.base}/v1/streams/leave`, { method: 'DELETE' })).status).toBe(204);
    const res = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'two', url: twoFaces, realtime: true, loop: true }) });
    expect(res.status).toBe(201);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${d.base}/#/stream/two`);
    await expect.poll(() => page.locator('.track').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const log = await recordCards(page);
    // A track ended while another stayed live: the moment the list used to reorder.
    const endedBesideLive = (l: Card[][]): boolean =>
      l.some((cards, i) => i > 0 && cards.some((c) => c.ended && l[i - 1]!.some((p) => p.el === c.el && !p.ended)) && cards.some((c) => !c.ended));
    // ... and then the leaving face came back as a new track while the ended card was still shown.
    const backBesideEnded = (l: Card[][]): boolean => l.some((cards) => cards.filter((c) => !c.ended).length >= 2 && cards.some((c) => c.ended));
    const both = async (): Promise<boolean> => {
      const l = await log();
      return endedBesideLive(l) && backBesideEnded(l);
    };
    await expect.poll(both, { timeout: 90_000, interval: 500 }).toBe(true);
    const seen = await log();
    expectStableCards(seen, 'two faces');
    // Across each such moment the live cards that stay live keep their places at the top, in order.
    for (let i = 1; i < seen.length; i++) {
      const before = seen[i - 1]!.filter((c) => !c.ended);
      const after = seen[i]!.filter((c) => !c.ended);
      const stayed = before.filter((c) => after.some((a) => a.el === c.el));
      expect(after.slice(0, stayed.length).map((c) => c.el), `${show(seen[i - 1]!)} → ${show(seen[i]!)}`).toEqual(stayed.map((c) => c.el));
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
