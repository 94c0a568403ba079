/**
 * Hides the user-info part of a broker URL (`mqtt://user:pass@host` → `mqtt://***@host`), splitting
 * at the last `@` of the authority, and the query (ioredis reads `?password=` from it) and fragment.
 */
export function redactBrokerUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)([?#].*)?$/s.exec(url);
  if (!m) return url;
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `***@${authority.slice(at + 1)}`;
  return `${m[1]}${host}${m[3] ?? ''}${m[4] ? '?***' : ''}`;
}
