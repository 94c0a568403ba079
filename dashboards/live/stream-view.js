// One stream: the current frame (a low-rate JPEG snapshot) with face boxes, track ids and labels,
// and per track the expression and AU bars, the valence/arousal circumplex with a trail and the
// last minute's timelines. Events only update state; drawing happens on animation frames, and only
// the latest state of each track is drawn, so a busy stream cannot pile up work in the browser.
import { liveSocket, snapshot } from './api.js';
import { drawCircumplex, drawFrame, drawTimeline, expressionColour, trackColour } from './plots.js';

const HISTORY_MS = 60_000;
const TRAIL_MS = 8_000;
const SNAPSHOT_MS = 500;
const KEEP_ENDED_MS = 5_000;
// A track neither seen nor ended for this long is gone too (a restarted stream ends no tracks).
const UNSEEN_MS = 10_000;
// Longer than this between two analysed frames is a gap in the timeline's expression band.
const BAND_GAP_MS = 1_000;
const TITLE_CHARS = 80;

export class StreamView {
  constructor(root, { onError, onConn }) {
    this.root = root;
    this.onError = onError;
    this.onConn = onConn;
    this.canvas = root.querySelector('#frame');
    this.ctx = this.canvas.getContext('2d');
    this.tracksEl = root.querySelector('#tracks');
    this.id = null;
    this.unknown = false;
  }

  /** `local`: a CameraSession whose frames are drawn instead of the daemon's snapshots. */
  open(id, model, local = null) {
    this.close();
    this.id = id;
    this.local = local;
    this.listed = false;
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
    this.stopSocket = liveSocket({ streams: id, types: 'stream,faces,track,affect,blink' }, (e) => this.onEvent(e), this.onConn);
    if (!local) void this.pollSnapshots(this.abort.signal);
    this.root.querySelector('#frame-note').textContent = local ? 'your camera: each frame as it was analysed' : '';
  }

  /** A hash that names no stream: said so, shortened, and nothing is asked of the daemon. */
  showUnknown(text) {
    this.close();
    this.unknown = true;
    this.root.hidden = false;
    this.root.querySelector('#sv-title').textContent = text.length > TITLE_CHARS ? `${text.slice(0, TITLE_CHARS)}…` : text;
    this.root.querySelector('#sv-model').textContent = '';
    this.setState('no such stream');
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    delete this.canvas.dataset.faces;
    delete this.canvas.dataset.seq;
    this.root.querySelector('#frame-note').textContent = 'No stream can have this id.';
  }

  close() {
    if (this.unknown) {
      this.unknown = false;
      this.root.hidden = true;
    }
    if (this.id === null) return;
    this.abort.abort();
    this.stopSocket();
    // A camera's frames are the session's to close.
    if (!this.local) this.bitmap?.close();
    this.bitmap = null;
    this.local = null;
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
        if (s?.forbidden) {
          // Boxes and tracks still come from the events; the frame is not the daemon's to show.
          note.textContent = `no frame: ${s.forbidden}`;
          await new Promise((r) => setTimeout(r, 5000));
          continue;
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
      for (const f of e.faces) {
        const t = this.track(f.trackId);
        t.seenAt = now;
        // Face quality (docs/events.md): the latest, and how many of the track's frames were gated.
        if (f.quality) {
          t.quality = f.quality;
          t.frames = (t.frames ?? 0) + 1;
          if (f.quality.gated.length > 0) t.gatedFrames = (t.gatedFrames ?? 0) + 1;
        }
        // Only a track ended for want of events comes back with them; an ended event is final.
        if (t.endedBy === 'unseen') t.endedAt = t.endedBy = undefined;
      }
      this.frameDirty = true;
    } else if (e.type === 'track') {
      if (e.state === 'started') {
        const old = this.tracks.get(e.trackId);
        // A restarted stream numbers its tracks from 1 again: a new track, not the ended one.
        if (old?.endedAt !== undefined) this.renew(old);
        else this.track(e.trackId);
      } else if (e.state === 'ended' && this.tracks.has(e.trackId)) {
        const t = this.tracks.get(e.trackId);
        if (t.endedBy !== 'event') Object.assign(t, { endedAt: now, endedBy: 'event' });
      }
    } else if (e.type === 'blink') {
      const t = this.track(e.trackId);
      t.blinks = (t.blinks ?? 0) + 1;
      t.lastBlinkMs = e.durationMs;
    } else if (e.type === 'affect') {
      const t = this.track(e.trackId);
      t.seenAt = now;
      t.latest = e;
      t.dirty = true;
      t.history.push({ t: now, v: e.va?.valence, a: e.va?.arousal, p: e.expr ? e.expr.probs[e.expr.label] : undefined, label: e.expr?.label, ...trustOf(e) });
      while (t.history.length > 0 && now - t.history[0].t > HISTORY_MS) t.history.shift();
      this.frameDirty = true;
    }
  }

  track(id) {
    let t = this.tracks.get(id);
    if (!t) {
      t = { id, el: null };
      this.renew(t);
      this.tracks.set(id, t);
    }
    return t;
  }

  /** A track's state from scratch. */
  renew(t) {
    Object.assign(t, { latest: null, history: [], dirty: true, endedAt: undefined, endedBy: undefined, seenAt: performance.now(), legend: '' });
  }

  render(now) {
    if (this.id === null) return;
    if (this.local) {
      // The sent frame the latest result is about (boxes drawn where they were found).
      const { bitmap, seq } = this.local.frame(this.faces.latest?.frame);
      if (bitmap !== this.bitmap) Object.assign(this, { bitmap, seq, frameDirty: true });
    }
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
    for (const t of [...this.tracks.values()]) {
      if (t.endedAt === undefined && now - t.seenAt > UNSEEN_MS) Object.assign(t, { endedAt: now, endedBy: 'unseen' });
      if (t.endedAt !== undefined && now - t.endedAt > KEEP_ENDED_MS) {
        t.el?.remove();
        this.tracks.delete(t.id);
      }
    }
    // Live tracks first, in the order they started (the daemon numbers tracks in that order, and
    // a view opened late sees them in no particular order); ended ones after, in the order they
    // ended. A card only moves when its own track ends, so the list does not reorder under the reader.
    const order = [...this.tracks.values()].sort((a, b) =>
      (a.endedAt === undefined) !== (b.endedAt === undefined) ? (a.endedAt === undefined ? -1 : 1) : (a.endedAt ?? 0) - (b.endedAt ?? 0) || a.id - b.id,
    );
    order.forEach((t, i) => {
      t.el ??= trackCard(t.id);
      // insertBefore moves the same element (and only when it is out of place).
      if (this.tracksEl.children[i] !== t.el) this.tracksEl.insertBefore(t.el, this.tracksEl.children[i] ?? null);
      this.drawTrack(t, now);
    });
  }

  drawTrack(t, now) {
    const e = t.latest;
    t.el.classList.toggle('ended', t.endedAt !== undefined);
    t.el.querySelector('h3').textContent = `Track ${t.id}${e?.expr ? ` · ${e.expr.label}` : ''}${t.endedAt !== undefined ? ' (ended)' : ''}`;
    t.el.querySelector('.quality').textContent = qualityLine(t);
    if (t.dirty) {
      t.dirty = false;
      setBars(t.el.querySelector('.expr'), e, e?.expr && Object.entries(e.expr.probs).map(([k, p]) => [k, p, k === e.expr.label]), this.facesOnly);
      setBars(t.el.querySelector('.au'), e, e?.au && Object.entries(e.au.probs).map(([k, p]) => [k, p, e.au.active[k] === true]), this.facesOnly);
    }
    const va = t.el.querySelector('.va');
    const hasVa = this.facesOnly ? false : e ? e.va !== undefined : null;
    va.querySelector('.absent').hidden = hasVa !== false;
    va.querySelector('.absent').textContent = this.facesOnly ? 'no affect model (faces only)' : 'valence/arousal: not provided by this model';
    va.querySelector('.circumplex').hidden = hasVa === false;
    const colour = trackColour(t.id);
    if (hasVa !== false) drawCircumplex(va.querySelector('.circumplex').getContext('2d'), t.history.filter((h) => h.v !== undefined && now - h.t <= TRAIL_MS), colour);
    // The timeline is its own block: an expressions-only model (the default) still has one.
    const history = t.el.querySelector('.history');
    const hasExpr = e ? e.expr !== undefined : null;
    history.hidden = this.facesOnly || (hasVa === false && hasExpr === false);
    if (history.hidden) return;
    const series = [];
    // Relative to the person's baseline (the toggle): value − baseline, only where a baseline exists.
    const rel = history.querySelector('.relative input').checked;
    const pointsOf = (key, spread) =>
      t.history.filter((h) => h[key] !== undefined && (!rel || h.b?.[key] !== undefined)).map((h) => ({ t: h.t, y: rel ? h[key] - h.b[key] : h[key], s: h[spread] }));
    if (hasVa !== false) {
      series.push({ points: pointsOf('v', 'vs'), colour });
      series.push({ points: pointsOf('a', 'as'), colour: '#e6e6eb', dash: true });
    }
    // Without valence/arousal, p(expression) has the whole height (0…1) and the track's colour.
    if (hasExpr) series.push({ points: pointsOf('p'), colour: hasVa === false ? colour : '#8c8c96' });
    const band = hasExpr ? expressionBand(t.history) : [];
    const [lo, hi] = hasVa === false && !rel ? [0, 1] : [-1, 1];
    drawTimeline(history.querySelector('.timeline').getContext('2d'), series, now, HISTORY_MS, lo, hi, band);
    setLegend(history.querySelector('.legend'), t, e, hasVa, colour);
  }
}

/**
 * What a timeline point keeps of an event's uncertainty and baseline: the members' spread of
 * valence and arousal (`vs`, `as`: the bands) and the baseline of the plotted values (`b`).
 */
function trustOf(e) {
  const b = e.baseline;
  const base = b && (b.va || b.expr) ? { v: b.va?.valence, a: b.va?.arousal, p: e.expr && b.expr ? b.expr.probs[e.expr.label] : undefined } : undefined;
  return { vs: e.va?.std?.valence, as: e.va?.std?.arousal, ...(base ? { b: base } : {}), baselineState: b?.state };
}

/** The most likely expression over time, as coloured spans (a gap where no frame was analysed). */
function expressionBand(history) {
  const spans = [];
  history.forEach((h, i) => {
    if (h.label === undefined) return;
    const next = history[i + 1];
    const t1 = next && next.t - h.t <= BAND_GAP_MS ? next.t : h.t + Math.min(BAND_GAP_MS, 100);
    spans.push({ t0: h.t, t1, colour: expressionColour(h.label) });
  });
  return spans;
}

/** What the lines and the band mean, rebuilt only when the tasks or labels change. */
function setLegend(el, t, e, hasVa, colour) {
  const labels = e?.expr ? Object.keys(e.expr.probs) : [];
  const spread = hasVa !== false && e?.va?.std !== undefined;
  const baseline = e?.baseline?.state ?? 'off';
  const key = `${hasVa}|${labels.join()}|${spread}|${baseline}`;
  if (t.legend === key) return;
  t.legend = key;
  // A line's swatch is a short line (dashed for arousal); the band's is a block of its colour.
  const item = (text, swatch, kind) => {
    const span = document.createElement('span');
    const sw = document.createElement('i');
    sw.className = kind;
    if (kind === 'band') sw.style.background = swatch;
    else sw.style.borderTopColor = swatch;
    span.append(sw, text);
    return span;
  };
  const items = [];
  if (hasVa !== false) items.push(item('valence', colour, 'line'), item('arousal', '#e6e6eb', 'line dashed'));
  if (labels.length > 0) items.push(item('p(expression)', hasVa === false ? colour : '#8c8c96', 'line'), ...labels.map((l) => item(l, expressionColour(l), 'band')));
  if (spread) items.push(item("± members' std", `color-mix(in srgb, ${colour} 30%, transparent)`, 'band'));
  items.push(document.createTextNode(` baseline: ${baseline}`));
  el.replaceChildren(...items);
}

/** Pose, sharpness, gated frames and blinks of a track, in one line (geometric measures, not trained detectors). */
function qualityLine(t) {
  const q = t.quality;
  if (!q) return '';
  const deg = (v) => `${v.toFixed(0)}°`;
  const parts = [];
  if (q.pose) parts.push(`yaw ${deg(q.pose.yaw)} pitch ${deg(q.pose.pitch)} roll ${deg(q.pose.roll)}`);
  parts.push(`sharpness ${q.sharpness.toFixed(0)}`, `eyes ${q.interocularPx.toFixed(0)} px apart`);
  parts.push(`gated ${t.gatedFrames ?? 0}/${t.frames ?? 0} frames${q.gated.length > 0 ? ` (now: ${q.gated.join(', ')})` : ''}`);
  if (q.eyes) parts.push(`blinks ${t.blinks ?? 0} (${q.eyes.blinkRate.toFixed(0)}/min${t.lastBlinkMs !== undefined ? `, last ${t.lastBlinkMs.toFixed(0)} ms` : ''}), PERCLOS ${(q.eyes.perclos * 100).toFixed(0)} %`);
  return parts.join(' · ');
}

function trackCard(id) {
  const card = document.createElement('div');
  card.className = 'track';
  card.dataset.track = String(id);
  card.style.setProperty('--c', trackColour(id));
  card.innerHTML = `<h3></h3><p class="quality dim"></p><div class="cols">
    <div class="bars expr" data-task="expr"><h4>Expression</h4><div class="rows"></div><p class="absent" hidden></p></div>
    <div class="bars au" data-task="au"><h4>Action units</h4><div class="rows"></div><p class="absent" hidden></p></div>
    <div class="va" data-task="va"><h4>Valence / arousal</h4><p class="absent" hidden></p><canvas class="circumplex" width="160" height="160"></canvas></div>
    <div class="history"><h4>Last minute <label class="relative" title="value minus this person's baseline (docs/events.md#baselines)"><input type="checkbox"> relative to baseline</label></h4><canvas class="timeline" width="380" height="110"></canvas><p class="legend"></p></div>
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
