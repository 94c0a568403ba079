import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { packageRoot } from '../paths.js';

/** The live page's files (dashboards/live in the package); nothing else is ever served from disk. */
const FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/api.js': { file: 'api.js', type: 'text/javascript; charset=utf-8' },
  '/ui/overview.js': { file: 'overview.js', type: 'text/javascript; charset=utf-8' },
  '/ui/stream-view.js': { file: 'stream-view.js', type: 'text/javascript; charset=utf-8' },
  '/ui/plots.js': { file: 'plots.js', type: 'text/javascript; charset=utf-8' },
  // The typed client (src/client, affect-daemon/client) as the build compiles it: no imports of its own.
  '/ui/client.js': { file: '../../dist/client/index.js', type: 'text/javascript; charset=utf-8' },
  '/ui/camera.js': { file: 'camera.js', type: 'text/javascript; charset=utf-8' },
};

/** The paths the live page is served at. */
export const LIVE_PAGE_PATHS: readonly string[] = Object.keys(FILES);

export const LIVE_PAGE_DIR = path.join(packageRoot, 'dashboards', 'live');

// Same-origin only: the page talks to this daemon and loads nothing from elsewhere.
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function isStaticPath(p: string): boolean {
  return Object.hasOwn(FILES, p);
}

/** Serves a live-page file for GET/HEAD; false when the path is not one of them. */
export function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, cache: Map<string, Buffer>): boolean {
  const method = req.method ?? 'GET';
  if ((method !== 'GET' && method !== 'HEAD') || !isStaticPath(pathname)) return false;
  const f = FILES[pathname]!;
  let body = cache.get(f.file);
  if (!body) {
    body = readFileSync(path.join(LIVE_PAGE_DIR, f.file));
    cache.set(f.file, body);
  }
  res.writeHead(200, { 'content-type': f.type, 'content-length': body.length, ...HEADERS });
  res.end(method === 'HEAD' ? undefined : body);
  return true;
}
