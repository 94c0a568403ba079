/**
 * One HTTP(S) GET, through the proxy the user's environment names. Node's `http`/`https` ignore
 * HTTPS_PROXY and NO_PROXY, and users behind a corporate proxy set exactly those, so this honours
 * them: plain `http://` goes to the proxy with an absolute URL, `https://` through a CONNECT tunnel
 * with TLS (and its verification) end to end to the origin.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';

export interface HttpGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Time allowed to connect and receive the response head. */
  readonly headTimeoutMs: number;
  /** Extra trusted certificates (PEM), on top of Node's; TLS verification always stays on. */
  readonly ca?: string | Buffer;
  /** The environment to read proxy variables from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** The proxy URL for `target`, or undefined for a direct connection (NO_PROXY honoured). */
export function proxyFor(target: URL, env: Readonly<Record<string, string | undefined>>): URL | undefined {
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v.trim() !== '');
  const raw = target.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy') : pick('HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy');
  if (raw === undefined) return undefined;
  const noProxy = pick('NO_PROXY', 'no_proxy');
  if (noProxy !== undefined && bypassesProxy(target, noProxy)) return undefined;
  const proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new Error(`proxy ${proxy.protocol}// is not supported (use an http:// or https:// proxy)`);
  return proxy;
}

/** curl's NO_PROXY rules: `*`, or comma-separated host names / domain suffixes, with an optional port. */
function bypassesProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return noProxy.split(/[\s,]+/).some((entry) => {
    if (entry === '') return false;
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase().replace(/^\[|\]$/g, '')) as RegExpExecArray;
    const name = (m[1] ?? '').replace(/^\*?\./, '');
    if (m[2] !== undefined && m[2] !== port) return false;
    return host === name || host.endsWith(`.${name}`);
  });
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (proxy.username === '') return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** A CONNECT tunnel to `target` through `proxy`; resolves with the raw socket once the proxy said 200. */
function tunnel(proxy: URL, target: URL, o: HttpGetOptions): Promise<Socket> {
  const authority = `${target.hostname}:${target.port || 443}`;
  const mod = proxy.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...proxyAuth(proxy) },
      timeout: o.headTimeoutMs,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`the proxy ${proxy.host} refused the tunnel to ${authority} (${res.statusCode ?? '?'} ${res.statusMessage ?? ''})`));
      }
    });
    req.once('timeout', () => req.destroy(new Error(`the proxy ${proxy.host} did not answer within ${o.headTimeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** Sends the GET and resolves with the response head; the caller owns (and must consume or destroy) the body. */
export async function httpGet(url: URL, o: HttpGetOptions): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${url.protocol}// URLs are not downloaded (http:// or https:// only)`);
  const proxy = proxyFor(url, o.env ?? process.env);
  const headers: Record<string, string> = { 'user-agent': 'affect-daemon (models pull)', accept: '*/*', ...o.headers };
  const base = {
    headers,
    timeout: o.headTimeoutMs,
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  };
  let req: http.ClientRequest;
  if (url.protocol === 'https:') {
    const socket = proxy !== undefined ? await tunnel(proxy, url, o) : undefined;
    req = https.request(url, {
      ...base,
      ...(o.ca !== undefined ? { ca: [...tls.rootCertificates, o.ca.toString()] } : {}),
      rejectUnauthorized: true,
      // Through a proxy, TLS runs over the tunnel's socket, still verified against the origin's name.
      ...(socket !== undefined ? { createConnection: () => tls.connect({ socket, servername: url.hostname, ...(o.ca !== undefined ? { ca: [...tls.rootCertificates, o.ca.toString()] } : {}) }) } : {}),
    });
  } else if (proxy !== undefined) {
    const mod = proxy.protocol === 'https:' ? https : http;
    req = mod.request({ ...base, host: proxy.hostname, port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80), path: url.href, headers: { ...headers, host: url.host, ...proxyAuth(proxy) } });
  } else {
    req = http.request(url, base);
  }
  return new Promise((resolve, reject) => {
    req.once('response', (res) => {
      // The head has arrived: from here the body's own idle timeout (set by the caller) applies.
      req.setTimeout(0);
      resolve(res);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${o.headTimeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}
