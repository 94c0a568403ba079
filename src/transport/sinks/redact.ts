/** Hides the user-info part of a broker URL (`mqtt://user:pass@host` → `mqtt://***@host`), splitting at the last `@` of the authority. */
export function redactBrokerUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  return at < 0 ? url : `${m[1]}***@${authority.slice(at + 1)}${m[3] ?? ''}`;
}
