/**
 * The request target as a URL, or a reason it is refused (400). Only origin-form targets
 * (`/path?query`) are accepted: `//host/…` would be read as another authority by URL parsers,
 * and absolute-form or `*` targets are for proxies. Malformed percent-escapes in the path are
 * refused here so no route has to decode defensively.
 */
export function parseRequestTarget(target: string | undefined): URL | string {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) {
    return 'request target must be an absolute path (/…)';
  }
  let url: URL;
  try {
    url = new URL(`http://localhost${target}`);
  } catch {
    return 'request target cannot be parsed';
  }
  try {
    decodeURIComponent(url.pathname);
  } catch {
    return 'malformed percent-escape in the request path';
  }
  return url;
}

/** decodeURIComponent that cannot throw (the whole path was checked by parseRequestTarget). */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
