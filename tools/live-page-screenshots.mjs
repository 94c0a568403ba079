#!/usr/bin/env node
// Screenshots of the live page for the README, taken with the embedded default model (packaged
// expression classifier: real, trained weights) on a real clip:
//   npm run build && node tools/live-page-screenshots.mjs
// Needs Debian's chromium (CHROMIUM_PATH to override); the clip is the committed test media.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clip = path.resolve(root, 'test', 'fixtures', 'media', 'utterance_1.mp4');
const out = path.join(root, 'dashboards', 'screenshots');
const dir = mkdtempSync(path.join(tmpdir(), 'va-shots-'));
const config = path.join(dir, 'daemon.yaml');
writeFileSync(
  config,
  JSON.stringify({
    server: { host: '127.0.0.1', port: 0 },
    backend: 'wasm',
    analysis: { analysisFps: 10 },
    model: { dir: path.join(root, 'config', 'models', 'default-expressions'), smoothing: 'ema' },
    streams: [{ id: 'talk', url: clip, realtime: true, loop: true }],
  }),
);
const daemon = spawn(process.execPath, [path.join(root, 'bin', 'daemon.js'), 'run', '--config', config], { cwd: root });
const port = await new Promise((resolve, reject) => {
  let buf = '';
  daemon.stdout.on('data', (d) => {
    buf += d;
    const line = buf.split('\n').find((l) => l.includes('"msg":"listening"') && l.endsWith('}'));
    if (line) resolve(JSON.parse(line).port);
  });
  daemon.on('exit', (code) => reject(new Error(`daemon exited ${code}`)));
});
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(base);
  await page.locator('tr[data-stream="talk"] [data-k="state"]').filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
  await page.waitForTimeout(4000);
  await page.screenshot({ path: path.join(out, 'overview.png') });
  await page.goto(`${base}/#/stream/talk`);
  await page.waitForTimeout(12_000);
  await page.screenshot({ path: path.join(out, 'stream-view.png'), fullPage: true });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  daemon.kill('SIGTERM');
}
