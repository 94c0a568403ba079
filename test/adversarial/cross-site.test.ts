/**
 * A real browser (chromium, driven by playwright-core) visiting a hostile page while the daemon
 * runs on loopback without a token, the default deployment: the page must not be able to create
 * streams, read events, or reach the daemon through DNS rebinding. Same-origin use still works.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media } from '../helpers/media.js';
import { startHarness, type Harness } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('a hostile web page in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let evil: Server;
  let evilPort: number;

  beforeAll(async () => {
    h = await startHarness();
    // The attacker's site: another origin on loopback (so no private-network rule interferes).
    evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>cute cats</title>'));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    evilPort = (evil.address() as AddressInfo).port;
    // evil.test resolves to loopback, as a rebinding attacker's name does after its TTL ran out.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--host-resolver-rules=MAP evil.test 127.0.0.1'] });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (evil ? evil.close(() => r()) : r()));
    await h?.close();
  });

  it('cannot create streams with a "simple" cross-site POST, nor open the event WebSocket', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${evilPort}/`);
    const outcome = await page.evaluate(
      async ({ daemon, url }) => {
        // No preflight for text/plain: the browser sends it; the page cannot read the answer.
        await fetch(`${daemon}/v1/streams`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ id: 'pwned', url }) }).catch(() => undefined);
        await fetch(`${daemon}/v1/streams/witness`, { method: 'DELETE', mode: 'no-cors' }).catch(() => undefined);
        const ws = await new Promise<string>((resolve) => {
          const sock = new WebSocket(`${daemon.replace('http', 'ws')}/v1/events`);
          sock.onopen = () => resolve('open');
          sock.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        });
        return { ws };
      },
      { daemon: h.base, url: media('single_face.mp4') },
    );
    expect(outcome.ws).toBe('refused');
    expect((await h.api('GET', '/v1/streams/pwned')).status).toBe(404);
    expect((await h.api('GET', '/v1/streams/witness')).status).toBe(200);
    await page.close();
    await h.check('cross-site page');
  });

  it('cannot reach the daemon through DNS rebinding', async () => {
    const page = await browser.newPage();
    // The page's own origin now resolves to the daemon: every request is "same-origin" to the browser.
    const res = await page.goto(`http://evil.test:${h.port}/v1/streams`);
    expect(res?.status()).toBe(403);
    const post = await page.evaluate(
      async (url) => (await fetch('/v1/streams', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'rebound', url }) })).status,
      media('single_face.mp4'),
    );
    expect(post).toBe(403);
    expect((await h.api('GET', '/v1/streams/rebound')).status).toBe(404);
    await page.close();
    await h.check('DNS rebinding');
  });

  it('still serves a page of its own origin: same-origin API calls and WebSocket work', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${h.port}/healthz`);
    const out = await page.evaluate(async (host) => {
      const bad = (await fetch('/v1/streams', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id": "bad id!"}' })).status;
      const list = (await fetch('/v1/streams')).status;
      const ws = await new Promise<string>((resolve) => {
        const sock = new WebSocket(`ws://${host}/v1/events?types=faces`);
        sock.onmessage = () => {
          sock.close();
          resolve('event');
        };
        sock.onerror = () => resolve('refused');
        setTimeout(() => resolve('timeout'), 10_000);
      });
      return { bad, list, ws };
    }, `127.0.0.1:${h.port}`);
    expect(out).toEqual({ bad: 400, list: 200, ws: 'event' });
    await page.close();
    await h.check('same origin');
  });
});
