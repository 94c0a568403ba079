// The live page: overview ↔ stream view by URL hash, a token kept in sessionStorage, one
// animation-frame loop for all drawing.
import { ApiError, api, liveSocket, token } from './api.js';
import { Overview } from './overview.js';
import { StreamView } from './stream-view.js';
import { CameraSession } from './camera.js';

const errorEl = document.getElementById('error');
const connEl = document.getElementById('conn');

let errorAt = 0;

function showError(err) {
  if (err) errorAt = Date.now();
  if (!err) {
    errorEl.hidden = true;
    return;
  }
  errorEl.hidden = false;
  errorEl.textContent =
    err instanceof ApiError && err.status === 401
      ? 'Unauthorized: the token is missing or wrong. Enter the daemon\'s token above.'
      : `${err.code ?? 'error'}: ${err.message}`;
}

function setConn(state) {
  connEl.dataset.state = state;
  connEl.textContent = state === 'open' ? 'live' : state;
}

const overview = new Overview(document.getElementById('overview'), { onError: showError });
const view = new StreamView(document.getElementById('stream-view'), { onError: showError, onConn: setConn });
let model = { note: '', facesOnly: false };
let stopOverviewSocket = () => {};
let camera = null;
const cameraStop = document.getElementById('camera-stop');

/** Ends the camera session (its socket closes, so the daemon removes its stream). */
function stopCamera() {
  camera?.stop();
  camera = null;
  cameraStop.hidden = true;
}

async function startCamera(form) {
  stopCamera();
  const session = new CameraSession({
    width: Number(form.width.value),
    fps: Number(form.fps.value),
    onState: (state, code, reason) => {
      if (state !== 'closed' || camera !== session) return;
      // 1000: stopped here, or the stream was removed; anything else is the daemon's refusal.
      if (code !== 1000) showError({ code: `camera socket closed (${code})`, message: reason || 'the daemon refused the frames' });
      view.setState('removed');
    },
    onNotice: (n) => {
      if (n.type === 'refused') showError({ code: n.error?.code ?? `frame ${n.reason}`, message: n.error?.message ?? `frames refused: ${n.reason}` });
    },
  });
  camera = session;
  try {
    await session.start();
  } catch (err) {
    if (camera === session) camera = null;
    showError({ code: 'camera', message: `the camera could not be opened: ${err.message ?? err}` });
    return;
  }
  if (camera !== session) return;
  cameraStop.hidden = false;
  location.hash = '#/camera';
  safeRoute();
}

document.getElementById('camera-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void startCamera(e.target);
});
cameraStop.addEventListener('click', () => {
  stopCamera();
  location.hash = '#/';
});
// Closing the page closes the socket too; this only makes it prompt.
window.addEventListener('pagehide', stopCamera);

async function refresh() {
  try {
    overview.update((await api('GET', '/v1/streams')).streams);
    if (view.id !== null) {
      if (overview.streams.has(view.id)) view.listed = true;
      else view.setState(view.listed ? 'removed' : 'no such stream');
    }
    // An action's error stays readable for a few seconds before a good poll clears it.
    if (Date.now() - errorAt > 5000) showError(null);
  } catch (err) {
    showError(err);
  }
}
overview.refresh = refresh;

async function loadModelNote() {
  try {
    const r = await fetch('/readyz', { headers: token.get() ? { authorization: `Bearer ${token.get()}` } : {} });
    const m = (await r.json()).details?.affectModel;
    model = typeof m === 'object' && m ? { note: `model ${m.id} ${m.version} (${m.kind})`, facesOnly: false } : { note: 'no affect model: faces only', facesOnly: typeof m === 'string' };
  } catch {
    model = { note: '', facesOnly: false };
  }
}

function connect() {
  stopOverviewSocket();
  stopOverviewSocket = liveSocket({ types: 'stream' }, (e) => {
    overview.onStreamEvent(e);
    if (view.id === e.streamId) view.setState(e.state);
  }, setConn);
}

// The daemon's stream ids (src/core/ids.ts): a hash naming anything else names no stream.
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * What the hash asks for, from any text at all (the URL is the visitor's, or a link's): the
 * overview, a stream by id, or a stream no id can name (undecodable or not an id), which is shown
 * as unknown without asking the API about it.
 */
function parseHash(hash) {
  if (hash === '#/camera') return { page: 'camera' };
  const m = /^#\/stream\/(.+)$/s.exec(hash);
  if (!m) return { page: 'overview' };
  let id;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return { page: 'unknown', text: m[1] };
  }
  return STREAM_ID.test(id) ? { page: 'stream', id } : { page: 'unknown', text: id };
}

function route() {
  const where = parseHash(location.hash);
  // A camera is analysed only while its view is shown.
  if (where.page !== 'camera' && camera) stopCamera();
  if (where.page === 'camera' && !camera) where.page = 'overview';
  document.getElementById('overview').hidden = where.page !== 'overview';
  if (where.page === 'camera') {
    if (view.id !== camera.id) view.open(camera.id, model, camera);
  } else if (where.page === 'overview') view.close();
  else if (where.page === 'unknown') view.showUnknown(where.text);
  else {
    if (view.id !== where.id) view.open(where.id, model);
    const s = overview.streams.get(where.id);
    if (s) view.setState(s.state);
  }
}

function safeRoute() {
  try {
    route();
  } catch (err) {
    showError(err);
  }
}

document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('token');
  token.set(input.value.trim());
  input.value = '';
  connect();
  void loadModelNote();
  void refresh();
  if (view.id !== null) {
    const id = view.id;
    const local = view.local;
    view.close();
    view.open(id, model, local);
  }
});
window.addEventListener('hashchange', safeRoute);

function frame(now) {
  // The next frame is asked for first: one bad draw must not end all drawing.
  requestAnimationFrame(frame);
  overview.render();
  view.render(now);
}

// Polling and drawing start before anything the URL or the daemon says is looked at, so that
// nothing either says can stop them.
setInterval(refresh, 1000);
requestAnimationFrame(frame);
await loadModelNote();
connect();
await refresh();
safeRoute();
