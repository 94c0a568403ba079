import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { redactUrl } from './redact-url.js';

export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'rtsp'; readonly url: string }
  | { readonly kind: 'demo'; readonly scene: string }
  /** Frames a client pushes to /v1/ingest/{name} (push-source.ts). */
  | { readonly kind: 'push'; readonly name: string };

export const SUPPORTED_SCHEMES = ['file:', 'rtsp:', 'rtsps:', 'demo:', 'push:'] as const;

/**
 * Parses a source URL: `file://…` or a plain path, `rtsp(s)://…`, or `demo:` (the built-in
 * animated demo stream), `push:<id>` (frames pushed to /v1/ingest/{id}). Anything else is a SourceError naming the scheme.
 */
export function parseSourceUrl(url: string, cwd = process.cwd()): SourceSpec {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  // A single letter before ':' is a Windows drive, not a scheme.
  if (!m || m[1]!.length === 1) return { kind: 'file', path: path.resolve(cwd, url) };
  const scheme = m[1]!.toLowerCase() + ':';
  switch (scheme) {
    case 'file:':
      try {
        return { kind: 'file', path: fileURLToPath(url) };
      } catch (err) {
        throw new SourceError(ErrorCodes.SOURCE_OPEN, `invalid file URL: ${(err as Error).message}`, { cause: err });
      }
    case 'rtsp:':
    case 'rtsps:':
      // FFmpeg looks protocols up case-sensitively: RTSP:// would fail forever with "Protocol not found".
      return { kind: 'rtsp', url: checkNetworkUrl(scheme + url.slice(scheme.length)) };
    case 'demo:':
      return { kind: 'demo', scene: url.slice('demo:'.length).replace(/^\/\//, '') || 'faces' };
    case 'push:':
      return { kind: 'push', name: url.slice('push:'.length) };
    default:
      throw new SourceError(ErrorCodes.SOURCE_SCHEME, `unsupported URL scheme "${scheme}" (supported: ${SUPPORTED_SCHEMES.join(', ')})`, {
        context: { scheme },
      });
  }
}

export { redactUrl, scrubCredentials } from './redact-url.js';

/** The parts of a network URL, split as FFmpeg's av_url_split splits them. */
export interface UrlParts {
  readonly scheme: string;
  readonly userinfo?: string;
  readonly host: string;
  readonly port?: number;
  /** Path, query and fragment, from the first `/`, `?` or `#`. */
  readonly rest: string;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;

function badUrl(url: string, why: string): SourceError {
  return new SourceError(ErrorCodes.SOURCE_URL, `invalid source URL (${why}): ${redactUrl(url)}`, { context: { reason: why } });
}

/**
 * Splits `scheme://[userinfo@]host[:port][/path][?query]` as FFmpeg does (the authority ends at the
 * first `/`, `?` or `#`; userinfo runs to the last `@` before it) and checks that the host could
 * ever be reached: a hostname, an IPv4 address or a bracketed IPv6 address, and a port in 1–65535.
 * Throws SourceError(VA_ERR_SOURCE_URL) otherwise.
 */
export function splitNetworkUrl(url: string): UrlParts {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!m) throw badUrl(url, 'expected scheme://host');
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(url)) throw badUrl(url, 'whitespace or control characters');
  const start = m[0].length;
  const cut = url.slice(start).search(/[/?#]/);
  const end = cut < 0 ? url.length : start + cut;
  const authority = url.slice(start, end);
  const at = authority.lastIndexOf('@');
  const hostPort = authority.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw badUrl(url, 'unclosed [ in the host');
    host = hostPort.slice(1, close);
    if (!isIPv6(host)) throw badUrl(url, 'not an IPv6 address in [ ]');
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw badUrl(url, 'unexpected text after ]');
    if (after !== '') portText = after.slice(1);
  } else {
    const colon = hostPort.indexOf(':');
    host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) portText = hostPort.slice(colon + 1);
    if (host === '') throw badUrl(url, 'no host');
    if (!isIPv4(host) && !HOSTNAME.test(host)) throw badUrl(url, 'not a valid host name');
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw badUrl(url, 'port must be 1-65535');
  }
  return {
    scheme: m[1]!.toLowerCase(),
    ...(at >= 0 ? { userinfo: authority.slice(0, at) } : {}),
    host,
    ...(port !== undefined ? { port } : {}),
    rest: url.slice(end),
  };
}

function checkNetworkUrl(url: string): string {
  splitNetworkUrl(url);
  return url;
}

/** True when `file` lies inside one of `roots` (after resolving `..` and symlink-free paths). */
export function isUnderRoots(file: string, roots: readonly string[]): boolean {
  const abs = path.resolve(file);
  return roots.some((root) => {
    const rel = path.relative(path.resolve(root), abs);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}
