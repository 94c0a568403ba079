/**
 * Credential redaction for anything the daemon shows: API answers, events, logs, metrics, errors.
 * Redaction errs on the side of hiding too much: a URL that FFmpeg would read differently from a
 * WHATWG parser must not leak half a password.
 */

/** Query parameters whose values are credentials (matched case-insensitively, after decoding). */
const SECRET_PARAM =
  /^(?:user|username|usr|login|pass|passwd|password|pwd|passphrase|token|access_token|id_token|refresh_token|auth|authorization|auth_token|key|apikey|api_key|api-key|secret|client_secret|sig|signature|credential|credentials|session|sessionid)$/i;

const MASK = '***';

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** Masks the values of credential parameters in a query string (`a=1&password=x` → `a=1&password=***`). */
function redactQuery(query: string): string {
  return query
    .split(/([&;])/)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      return SECRET_PARAM.test(decodeName(part.slice(0, eq)).trim()) ? `${part.slice(0, eq)}=${MASK}` : part;
    })
    .join('');
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Hides credentials the way FFmpeg reads them: everything up to the *last* `@` of the authority is
 * userinfo (`rtsp://admin:p@ss@host/cam` → `rtsp://***@host/cam`), and credential parameters of the
 * query (`?user=…&password=…`, `token=`, `auth=`, `key=` …) are masked. For safety the authority
 * here ends only at `?` or `#` (not at `/`), so a raw `/` in a password is hidden too.
 */
export function redactUrl(url: string): string {
  const m = SCHEME.exec(url);
  if (!m) return redactFreeParams(url);
  const start = m[0].length;
  const q = url.slice(start).search(/[?#]/);
  const end = q < 0 ? url.length : start + q;
  const head = url.slice(start, end);
  const at = head.lastIndexOf('@');
  const authority = at >= 0 ? `${MASK}@${head.slice(at + 1)}` : head;
  return m[0] + authority + redactTail(url.slice(end));
}

/** `?query#fragment`: both can carry `name=value` pairs (some cameras put tokens in the fragment). */
function redactTail(tail: string): string {
  if (tail === '') return tail;
  return tail.replace(/([?#])([^#]*)/g, (_all, sep: string, body: string) => sep + redactQuery(body));
}

/** `password=…` and friends in text that is not a URL (FFmpeg options echoed in messages). */
function redactFreeParams(text: string): string {
  return text.replace(/(^|[\s?&;,(])([A-Za-z_][A-Za-z0-9_-]*)=([^\s&;'",)]*)/g, (all, lead: string, name: string) =>
    SECRET_PARAM.test(name) ? `${lead}${name}=${MASK}` : all,
  );
}

/**
 * Hides the credentials of every URL inside a free text (error messages from FFmpeg and friends),
 * and any `password=…`-like pair outside URLs.
 */
export function scrubCredentials(text: string): string {
  const urls = text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>]*/g, (u) => redactUrl(u));
  return redactFreeParams(urls);
}
