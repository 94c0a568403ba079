/**
 * Defences against a browser being used as a proxy into the daemon (which listens on loopback
 * without a token by default): DNS rebinding is stopped by the Host allow-list, cross-site
 * WebSockets and state changes by the Origin check, and "simple" cross-site POSTs (text/plain,
 * forms: no preflight) by requiring a JSON content type.
 */

/** Host names always allowed: a rebinding attacker can never make a browser send these. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

export interface AccessPolicyInput {
  /** The bind address (server.host). */
  readonly host: string;
  /** Extra host names (any port), or '*' for any. */
  readonly allowedHosts: readonly string[];
  /** Extra origins (scheme://host[:port]) beyond same-origin, or '*' for any. */
  readonly allowedOrigins: readonly string[];
}

export interface AccessPolicy {
  /** The Host header names a host this daemon answers for (a missing header is allowed). */
  hostAllowed(host: string | undefined): boolean;
  /** The request's Origin (if any) is same-origin with its Host, or listed. */
  originAllowed(origin: string | undefined, host: string | undefined): boolean;
}

/** `Host` header → lower-case host name without brackets or port; undefined if malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._~!$&'()*+,;=%-]+))(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  return m[1] ?? m[2];
}

function normaliseName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.startsWith('[') && n.endsWith(']') ? n.slice(1, -1) : n;
}

export function accessPolicy(input: AccessPolicyInput): AccessPolicy {
  const anyHost = input.allowedHosts.includes('*');
  const hosts = new Set([...LOOPBACK_HOSTS, ...input.allowedHosts.map(normaliseName)]);
  const bind = normaliseName(input.host);
  if (!WILDCARD_BINDS.has(bind)) hosts.add(bind);
  const anyOrigin = input.allowedOrigins.includes('*');
  const origins = new Set(input.allowedOrigins.filter((o) => o !== '*').map((o) => new URL(o).origin));

  return {
    hostAllowed(header) {
      if (header === undefined || anyHost) return true;
      const name = hostName(header);
      return name !== undefined && hosts.has(name);
    },
    originAllowed(origin, host) {
      if (origin === undefined || anyOrigin) return true;
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        return false; // "null" (sandboxed frames, file: pages) and garbage
      }
      if (origins.has(url.origin)) return true;
      if (host === undefined) return false;
      try {
        // Resolve Host the way the Origin's scheme would, so default ports compare equal.
        return new URL(`${url.protocol}//${host}`).host === url.host;
      } catch {
        return false;
      }
    },
  };
}

/** `application/json`, optionally with `charset=utf-8`; anything else is refused (415). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';');
  if (type?.trim().toLowerCase() !== 'application/json') return false;
  for (const p of params) {
    const [k, v] = p.split('=', 2).map((x) => x.trim().toLowerCase());
    if (k === 'charset' && v?.replace(/^"|"$/g, '') !== 'utf-8') return false;
  }
  return true;
}

/** Methods that change state: these need a same-site Origin (when a browser sends one). */
export function isStateChanging(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}
