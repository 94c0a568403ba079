import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Bearer-token check; constant time (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * The token of a request: `Authorization: Bearer …`, or on the WebSocket only `?token=`
 * (browsers cannot set headers on WebSockets; on HTTP routes a query token would end up in
 * URLs, histories and proxy logs, so it is not accepted there).
 */
export function requestToken(req: IncomingMessage, url: URL, opts: { readonly allowQuery: boolean }): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1];
  }
  return opts.allowQuery ? (url.searchParams.get('token') ?? undefined) : undefined;
}
