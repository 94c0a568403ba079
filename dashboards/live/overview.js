// The overview: every stream with its state, rates, faces, drops, errors and reconnects, updated
// from GET /v1/streams (polled) and `stream` events (pushed), drawn on animation frames.
import { api } from './api.js';


export class Overview {
  constructor(root, { onError }) {
    this.root = root;
    this.tbody = root.querySelector('#streams tbody');
    this.empty = root.querySelector('#no-streams');
    this.onError = onError;
    this.streams = new Map();
    this.rates = new Map();
    this.lastReconnect = new Map();
    this.dirty = true;
    root.querySelector('#add-form').addEventListener('submit', (e) => this.add(e));
  }

  /** A fresh list from the API: rates are frame-counter deltas between polls. */
  update(list, now = performance.now()) {
    const seen = new Set();
    for (const s of list) {
      seen.add(s.id);
      const prev = this.rates.get(s.id);
      if (prev && now > prev.t && s.framesDecoded >= prev.decoded) {
        const dt = (now - prev.t) / 1000;
        const a = 0.5;
        prev.fpsDecoded = prev.fpsDecoded === undefined ? (s.framesDecoded - prev.decoded) / dt : a * ((s.framesDecoded - prev.decoded) / dt) + (1 - a) * prev.fpsDecoded;
        prev.fpsAnalysed = prev.fpsAnalysed === undefined ? (s.framesAnalysed - prev.analysed) / dt : a * ((s.framesAnalysed - prev.analysed) / dt) + (1 - a) * prev.fpsAnalysed;
        Object.assign(prev, { t: now, decoded: s.framesDecoded, analysed: s.framesAnalysed });
      } else {
        this.rates.set(s.id, { t: now, decoded: s.framesDecoded, analysed: s.framesAnalysed });
      }
      const old = this.streams.get(s.id);
      if (old && s.reconnects > old.reconnects) this.lastReconnect.set(s.id, new Date());
      this.streams.set(s.id, s);
    }
    for (const id of [...this.streams.keys()]) {
      if (!seen.has(id)) {
        this.streams.delete(id);
        this.rates.delete(id);
      }
    }
    this.dirty = true;
  }

  onStreamEvent(e) {
    const s = this.streams.get(e.streamId);
    if (!s) return;
    s.state = e.state;
    if (e.error) s.error = e.error;
    if (e.state === 'reconnecting') this.lastReconnect.set(e.streamId, new Date(e.ts));
    this.dirty = true;
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const rows = new Map([...this.tbody.rows].map((r) => [r.dataset.stream, r]));
    for (const [id, row] of rows) if (!this.streams.has(id)) row.remove();
    for (const s of [...this.streams.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      let row = rows.get(s.id);
      if (!row) {
        row = this.newRow(s.id);
        this.tbody.append(row);
      }
      const r = this.rates.get(s.id);
      const fps = (v) => (v === undefined ? '–' : v.toFixed(1));
      const last = this.lastReconnect.get(s.id);
      this.cells(row, {
        state: s.state,
        kind: s.kind,
        fps: `${fps(r?.fpsDecoded)} / ${fps(r?.fpsAnalysed)}`,
        faces: String(s.activeTracks),
        dropped: String(s.framesDropped),
        error: s.error ? `${s.error.code}: ${s.error.message}` : '',
        reconnects: s.reconnects > 0 ? `${s.reconnects}${last ? ` (last ${last.toLocaleTimeString()})` : ''}` : '0',
      });
      row.querySelector('.state').className = `state ${s.state}`;
    }
    this.empty.hidden = this.streams.size > 0;
  }

  cells(row, values) {
    for (const [k, v] of Object.entries(values)) {
      const c = row.querySelector(`[data-k="${k}"]`);
      if (c.textContent !== v) c.textContent = v;
    }
  }

  newRow(id) {
    const row = document.createElement('tr');
    row.dataset.stream = id;
    const link = document.createElement('a');
    link.href = `#/stream/${encodeURIComponent(id)}`;
    link.textContent = id;
    const idCell = document.createElement('td');
    idCell.append(link);
    row.append(idCell);
    for (const k of ['state', 'kind', 'fps', 'faces', 'dropped', 'error', 'reconnects']) {
      const td = document.createElement('td');
      if (k === 'state') {
        const span = document.createElement('span');
        span.className = 'state';
        span.dataset.k = k;
        td.append(span);
      } else {
        td.dataset.k = k;
        if (k !== 'error' && k !== 'kind') td.className = 'num';
      }
      row.append(td);
    }
    const actions = document.createElement('td');
    const restart = Object.assign(document.createElement('button'), { textContent: 'restart', className: 'restart' });
    restart.onclick = () => this.act(() => api('POST', `/v1/streams/${encodeURIComponent(id)}/restart`));
    const remove = Object.assign(document.createElement('button'), { textContent: 'remove', className: 'remove' });
    // Two clicks: removing a camera by accident is worse than one more click.
    remove.onclick = () => {
      if (remove.dataset.armed !== '1') {
        remove.dataset.armed = '1';
        remove.textContent = 'sure?';
        setTimeout(() => Object.assign(remove, { textContent: 'remove' }) && delete remove.dataset.armed, 3000);
        return;
      }
      this.act(async () => {
        await api('DELETE', `/v1/streams/${encodeURIComponent(id)}`);
        this.streams.delete(id);
        this.dirty = true;
      });
    };
    actions.append(restart, ' ', remove);
    row.append(actions);
    return row;
  }

  async act(fn) {
    try {
      await fn();
      this.onError(null);
      this.refresh?.();
    } catch (err) {
      this.onError(err);
    }
  }

  async add(e) {
    e.preventDefault();
    const f = e.target;
    const body = { id: f.id.value.trim(), url: f.url.value.trim(), realtime: f.realtime.checked, loop: f.loop.checked };
    await this.act(async () => {
      await api('POST', '/v1/streams', body);
      f.reset();
      f.realtime.checked = true;
    });
  }
}
