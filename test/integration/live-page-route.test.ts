/** The live page's static route: only its own files, without the token, with a strict CSP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const TOKEN = 'static-route-token-0123456789';

describe('live page route', () => {
  let d: RunningDaemon;
  beforeAll(async () => {
    d = await startDaemon({ auth: { token: TOKEN } });
  }, 60_000);
  afterAll(async () => d?.close());

  it('serves the page and its modules without the token, with a same-origin CSP', async () => {
    const html = await fetch(`${d.base}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await html.text();
    // Nothing is loaded from another origin.
    expect(body).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const m of body.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)) {
      const res = await fetch(`${d.base}${m[1]!}`);
      expect(res.status, m[1]).toBe(200);
    }
    const js = await fetch(`${d.base}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await js.text();
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toContain(TOKEN);
    const head = await fetch(`${d.base}/ui/style.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves the typed client the page subscribes with (/ui/client.js, the build of src/client), with no import a browser could not resolve', async () => {
    const res = await fetch(`${d.base}/ui/client.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^export function connect\(/m);
    expect(text).not.toMatch(/^\s*import\s[^(]/m);
    expect(await (await fetch(`${d.base}/ui/api.js`)).text()).toMatch(/^import \{ connect \} from '\.\/client\.js';$/m);
  });

  it('serves nothing else from disk, and the API still needs the token', async () => {
    for (const p of ['/ui/', '/ui/nope.js', '/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/index.html', '/dashboards/live/app.js', '/ui/app.js/']) {
      const res = await fetch(`${d.base}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type'), p).toContain('application/json');
    }
    expect((await fetch(`${d.base}/ui/app.js`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${d.base}/v1/streams`)).status).toBe(401);
  });
});
