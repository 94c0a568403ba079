// The daemon's public API only: REST with `Authorization: Bearer`, the WebSocket with `?token=`.
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

/** A WebSocket that reconnects (1 s, then up to 10 s); `onState` sees 'open' | 'closed'. */
export function liveSocket(params, onEvent, onState) {
  let ws;
  let stopped = false;
  let delay = 1000;
  let timer;
  const open = () => {
    ws = new WebSocket(eventsUrl(params));
    ws.onopen = () => {
      delay = 1000;
      onState?.('open');
    };
    ws.onmessage = (m) => {
      try {
        onEvent(JSON.parse(m.data));
      } catch {
        // A malformed message is dropped, never fatal to the page.
      }
    };
    ws.onclose = () => {
      onState?.('closed');
      if (stopped) return;
      timer = setTimeout(open, delay);
      delay = Math.min(10_000, delay * 2);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    ws?.close();
  };
}
