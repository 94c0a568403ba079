// The live page: overview ↔ stream view by URL hash, a token kept in sessionStorage, one
// animation-frame loop for all drawing.
import { ApiError, api, liveSocket, token } from './api.js';
import { Overview } from './overview.js';
import { StreamView } from './stream-view.js';

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

async function refresh() {
  try {
    overview.update((await api('GET', '/v1/streams')).streams);
    if (view.id !== null && !overview.streams.has(view.id)) view.setState('removed');
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

function route() {
  const m = /^#\/stream\/(.+)$/.exec(location.hash);
  if (m) {
    const id = decodeURIComponent(m[1]);
    document.getElementById('overview').hidden = true;
    if (view.id !== id) view.open(id, model);
    const s = overview.streams.get(id);
    if (s) view.setState(s.state);
  } else {
    view.close();
    document.getElementById('overview').hidden = false;
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
    view.close();
    view.open(id, model);
  }
});
window.addEventListener('hashchange', route);

function frame(now) {
  overview.render();
  view.render(now);
  requestAnimationFrame(frame);
}

await loadModelNote();
connect();
await refresh();
route();
setInterval(refresh, 1000);
requestAnimationFrame(frame);
