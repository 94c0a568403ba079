// One stream: the current frame (a low-rate JPEG snapshot) with face boxes, track ids and labels,
// and per track the expression and AU bars, the valence/arousal circumplex with a trail and the
// last minute's timelines. Events only update state; drawing happens on animation frames, and only
// the latest state of each track is drawn, so a busy stream cannot pile up work in the browser.
import { liveSocket, snapshot } from './api.js';
import { drawCircumplex, drawFrame, drawTimeline, trackColour } from './plots.js';

const HISTORY_MS = 60_000;
const TRAIL_MS = 8_000;
const SNAPSHOT_MS = 500;
const KEEP_ENDED_MS = 5_000;
// A track neither seen nor ended for this long is gone too (a restarted stream ends no tracks).
const UNSEEN_MS = 10_000;

export class StreamView {
  constructor(root, { onError, onConn }) {
    this.root = root;
    this.onError = onError;
    this.onConn = onConn;
    this.canvas = root.querySelector('#frame');
    this.ctx = this.canvas.getContext('2d');
    this.tracksEl = root.querySelector('#tracks');
    this.id = null;
  }

  open(id, model) {
    this.close();
    this.id = id;
    this.facesOnly = model.facesOnly;
    this.root.hidden = false;
    this.root.querySelector('#sv-title').textContent = id;
    this.root.querySelector('#sv-model').textContent = model.note;
    this.faces = { latest: null, byFrame: new Map() };
    this.tracks = new Map();
    this.bitmap = null;
    this.seq = -1;
    this.frameDirty = true;
    this.abort = new AbortController();
    this.stopSocket = liveSocket({ streams: id, types: 'stream,faces,track,affect' }, (e) => this.onEvent(e), this.onConn);
    void this.pollSnapshots(this.abort.signal);
  }

  close() {
    if (this.id === null) return;
    this.abort.abort();
    this.stopSocket();
    this.bitmap?.close();
    this.tracksEl.replaceChildren();
    this.root.hidden = true;
    this.id = null;
  }

  setState(state) {
    const s = this.root.querySelector('#sv-state');
    s.textContent = state;
    s.className = `state ${state}`;
  }

  async pollSnapshots(signal) {
    const note = this.root.querySelector('#frame-note');
    while (!signal.aborted) {
      const t0 = performance.now();
      try {
        const s = await snapshot(this.id, signal);
        if (signal.aborted) {
          s?.bitmap.close();
          return;
        }
        if (s) {
          this.bitmap?.close();
          this.bitmap = s.bitmap;
          this.seq = s.seq;
          this.frameDirty = true;
          note.textContent = '';
        } else {
          note.textContent = 'no analysed frame yet';
        }
      } catch (err) {
        if (signal.aborted) return;
        this.onError(err);
      }
      await new Promise((r) => setTimeout(r, Math.max(100, SNAPSHOT_MS - (performance.now() - t0))));
    }
  }

  onEvent(e) {
    const now = performance.now();
    if (e.type === 'stream') this.setState(e.state);
    else if (e.type === 'faces') {
      this.faces.latest = e;
      this.faces.byFrame.set(e.frame, e);
      // Keep a few seconds of boxes so the snapshot's own frame can be matched.
      if (this.faces.byFrame.size > 150) this.faces.byFrame.delete(this.faces.byFrame.keys().next().value);
      for (const f of e.faces) this.track(f.trackId).seenAt = now;
      this.frameDirty = true;
    } else if (e.type === 'track') {
      const t = this.track(e.trackId);
      if (e.state === 'ended') t.endedAt = now;
    } else if (e.type === 'affect') {
      const t = this.track(e.trackId);
      t.seenAt = now;
      t.latest = e;
      t.dirty = true;
      t.history.push({ t: now, v: e.va?.valence, a: e.va?.arousal, p: e.expr ? e.expr.probs[e.expr.label] : undefined });
      while (t.history.length > 0 && now - t.history[0].t > HISTORY_MS) t.history.shift();
      this.frameDirty = true;
    }
  }

  track(id) {
    let t = this.tracks.get(id);
    if (!t) {
      t = { id, latest: null, history: [], dirty: true, endedAt: undefined, seenAt: performance.now(), el: null };
      this.tracks.set(id, t);
    }
    return t;
  }

  render(now) {
    if (this.id === null) return;
    if (this.frameDirty) {
      this.frameDirty = false;
      const f = this.faces.byFrame.get(this.seq) ?? this.faces.latest;
      if (this.bitmap && (this.canvas.width !== this.bitmap.width || this.canvas.height !== this.bitmap.height)) {
        this.canvas.width = this.bitmap.width;
        this.canvas.height = this.bitmap.height;
      }
      const labels = new Map([...this.tracks.values()].filter((t) => t.latest?.expr).map((t) => [t.id, t.latest.expr.label]));
      const faces = f?.faces ?? [];
      drawFrame(this.ctx, this.bitmap, faces, f?.width ?? this.canvas.width, labels);
      this.canvas.dataset.faces = String(faces.length);
      this.canvas.dataset.seq = String(this.seq);
    }
    for (const t of [...this.tracks.values()].sort((a, b) => a.id - b.id)) {
      if (t.endedAt === undefined && now - t.seenAt > UNSEEN_MS) t.endedAt = now;
      if (t.endedAt !== undefined && now - t.endedAt > KEEP_ENDED_MS) {
        t.el?.remove();
        this.tracks.delete(t.id);
        continue;
      }
      if (!t.el) {
        t.el = trackCard(t.id);
        this.tracksEl.append(t.el);
      }
      this.drawTrack(t, now);
    }
  }

  drawTrack(t, now) {
    const e = t.latest;
    t.el.classList.toggle('ended', t.endedAt !== undefined);
    t.el.querySelector('h3').textContent = `Track ${t.id}${e?.expr ? ` · ${e.expr.label}` : ''}${t.endedAt !== undefined ? ' (ended)' : ''}`;
    if (t.dirty) {
      t.dirty = false;
      setBars(t.el.querySelector('.expr'), e, e?.expr && Object.entries(e.expr.probs).map(([k, p]) => [k, p, k === e.expr.label]), this.facesOnly);
      setBars(t.el.querySelector('.au'), e, e?.au && Object.entries(e.au.probs).map(([k, p]) => [k, p, e.au.active[k] === true]), this.facesOnly);
    }
    const va = t.el.querySelector('.va');
    const hasVa = this.facesOnly ? false : e ? e.va !== undefined : null;
    va.querySelector('.absent').hidden = hasVa !== false;
    va.querySelector('.absent').textContent = this.facesOnly ? 'no affect model (faces only)' : 'valence/arousal: not provided by this model';
    va.querySelector('.plots').hidden = hasVa === false;
    const colour = trackColour(t.id);
    if (hasVa !== false) drawCircumplex(va.querySelector('.circumplex').getContext('2d'), t.history.filter((h) => h.v !== undefined && now - h.t <= TRAIL_MS), colour);
    const series = [];
    if (hasVa !== false) {
      series.push({ points: t.history.filter((h) => h.v !== undefined).map((h) => ({ t: h.t, y: h.v })), colour });
      series.push({ points: t.history.filter((h) => h.a !== undefined).map((h) => ({ t: h.t, y: h.a })), colour: '#e6e6eb', dash: true });
    }
    if (e?.expr) series.push({ points: t.history.filter((h) => h.p !== undefined).map((h) => ({ t: h.t, y: h.p })), colour: '#8c8c96' });
    drawTimeline(t.el.querySelector('.timeline').getContext('2d'), series, now, HISTORY_MS, -1, 1);
  }
}

function trackCard(id) {
  const card = document.createElement('div');
  card.className = 'track';
  card.dataset.track = String(id);
  card.style.setProperty('--c', trackColour(id));
  card.innerHTML = `<h3></h3><div class="cols">
    <div class="bars expr" data-task="expr"><h4>Expression</h4><div class="rows"></div><p class="absent" hidden></p></div>
    <div class="bars au" data-task="au"><h4>Action units</h4><div class="rows"></div><p class="absent" hidden></p></div>
    <div class="va" data-task="va"><h4 class="dim">Valence / arousal</h4><p class="absent" hidden></p>
      <div class="plots"><canvas class="circumplex" width="160" height="160"></canvas>
      <canvas class="timeline" width="380" height="110" title="last minute: valence (solid), arousal (dashed), p(expression) (grey)"></canvas></div></div>
  </div>`;
  return card;
}

/** Bars for one task: `entries` of [label, probability, highlighted]; absent when the model lacks the task. */
function setBars(box, event, entries, facesOnly) {
  const rows = box.querySelector('.rows');
  const absent = box.querySelector('.absent');
  if (!entries) {
    rows.replaceChildren();
    absent.hidden = false;
    const task = box.dataset.task === 'au' ? 'action units' : 'expression';
    absent.textContent = facesOnly ? 'no affect model (faces only)' : event ? `${task}: not provided by this model` : 'waiting for affect events…';
    return;
  }
  absent.hidden = true;
  if (rows.children.length !== entries.length) {
    rows.replaceChildren(
      ...entries.map(([label]) => {
        const r = document.createElement('div');
        r.className = 'bar';
        r.dataset.label = label;
        r.innerHTML = '<span class="k"></span><span class="track-bg"><span class="fill"></span></span><span class="v"></span>';
        r.querySelector('.k').textContent = label;
        return r;
      }),
    );
  }
  entries.forEach(([, p, on], i) => {
    const r = rows.children[i];
    r.classList.toggle('on', on);
    r.dataset.p = p.toFixed(3);
    r.querySelector('.fill').style.width = `${(Math.max(0, Math.min(1, p)) * 100).toFixed(1)}%`;
    r.querySelector('.v').textContent = p.toFixed(2);
  });
}
