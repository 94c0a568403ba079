// The daemon's public API only: REST with `Authorization: Bearer`, the WebSocket with `?token=`.
import { connect } from './client.js';
const KEY = 'va-token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(KEY) ?? '',
  set: (t) => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY)),
};

function headers(extra = {}) {
  const t = token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

async function failure(res) {
  let code = `HTTP ${res.status}`;
  let message = res.statusText;
  try {
    const body = await res.json();
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, code, message);
}

export async function api(method, path, body, signal) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? undefined : res.json();
}

/** The latest snapshot as an ImageBitmap plus its frame number, or null before the first frame. */
export async function snapshot(id, signal) {
  const res = await fetch(`/v1/streams/${encodeURIComponent(id)}/snapshot.jpg`, { headers: headers(), signal, cache: 'no-store' });
  if (res.status === 404) return null;
  // The stream's privacy.snapshots forbids it (push streams by default): said, not an error.
  if (res.status === 403) {
    const err = await failure(res);
    if (err.code === 'VA_ERR_SNAPSHOT_FORBIDDEN') return { forbidden: err.message };
    throw err;
  }
  if (!res.ok) throw await failure(res);
  const seq = Number(res.headers.get('x-frame-seq'));
  return { seq, bitmap: await createImageBitmap(await res.blob()) };
}

export function eventsUrl(params) {
  const q = new URLSearchParams(params);
  const t = token.get();
  if (t) q.set('token', t);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/events?${q}`;
}

/** The push socket of stream `id` (/v1/ingest/{id}): the browser's camera frames go there. */
export function ingestUrl(id) {
  const q = new URLSearchParams();
  const t = token.get();
  if (t) q.set('token', t);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ingest/${encodeURIComponent(id)}?${q}`;
}

/**
 * The events through the typed client (affect-daemon/client, served as /ui/client.js), which
 * reconnects (1 s, then up to 10 s); `onState` sees 'open' | 'closed'.
 */
export function liveSocket(params, onEvent, onState) {
  const list = (v) => (v ? String(v).split(',') : undefined);
  const sub = connect({ url: location.origin, token: token.get() || undefined }).subscribe({
    streams: list(params.streams),
    types: list(params.types),
    reconnect: { initialDelayMs: 1000, maxDelayMs: 10_000 },
    onState: (s) => s.state !== 'connecting' && onState?.(s.state),
  });
  void (async () => {
    for await (const e of sub) {
      try {
        onEvent(e);
      } catch {
        // A message the page cannot show is dropped, never fatal to the page.
      }
    }
  })().catch(() => undefined);
  return () => sub.close();
}
