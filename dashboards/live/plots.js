// Canvas drawing for the stream view: the frame with face boxes, the valence/arousal circumplex
// with its trail, and the last minute's timelines. Colours follow the daemon's track palette.
const PALETTE = ['#50c878', '#5aa0fa', '#faaa3c', '#e65ac8', '#f0e650', '#5adcdc'];
export const trackColour = (id) => PALETTE[((id % PALETTE.length) + PALETTE.length) % PALETTE.length];
// The seed's seven expressions, in colours apart from the track palette (the lines are in those).
const EXPRESSIONS = { Neutral: '#9a9aa6', Anger: '#c8413c', Disgust: '#7a9a2e', Fear: '#8e62c8', Happiness: '#e8be3a', Sadness: '#3c64b4', Surprise: '#e07a2c' };
export const expressionColour = (label) => (Object.hasOwn(EXPRESSIONS, label) ? EXPRESSIONS[label] : '#5a5a64');

export function drawFrame(ctx, bitmap, faces, sourceWidth, labels) {
  const { width: w, height: h } = ctx.canvas;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, w, h);
  if (bitmap) ctx.drawImage(bitmap, 0, 0, w, h);
  const k = w / (sourceWidth || w);
  ctx.lineWidth = 2;
  ctx.font = '13px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  for (const f of faces) {
    const c = trackColour(f.trackId);
    const [x, y, bw, bh] = f.box.map((v) => v * k);
    ctx.strokeStyle = c;
    ctx.strokeRect(x, y, bw, bh);
    const label = `#${f.trackId}${labels.get(f.trackId) ? ` ${labels.get(f.trackId)}` : ''}`;
    const tw = ctx.measureText(label).width + 8;
    const ly = y >= 18 ? y - 18 : y + bh;
    ctx.fillStyle = c;
    ctx.fillRect(x, ly, tw, 18);
    ctx.fillStyle = '#000';
    ctx.fillText(label, x + 4, ly + 2);
  }
}

export function drawCircumplex(ctx, trail, colour) {
  const { width: w, height: h } = ctx.canvas;
  const r = Math.min(w, h) / 2 - 14;
  const cx = w / 2;
  const cy = h / 2;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#46464f';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, 2 * Math.PI);
  ctx.moveTo(cx - r, cy);
  ctx.lineTo(cx + r, cy);
  ctx.moveTo(cx, cy - r);
  ctx.lineTo(cx, cy + r);
  ctx.stroke();
  ctx.fillStyle = '#8c8c96';
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText('valence +', cx + r - 44, cy - 12);
  ctx.fillText('arousal +', cx + 4, cy - r + 2);
  const n = trail.length;
  trail.forEach((p, i) => {
    ctx.globalAlpha = 0.15 + (0.85 * (i + 1)) / n;
    ctx.fillStyle = colour;
    const last = i === n - 1;
    ctx.beginPath();
    ctx.arc(cx + p.v * r, cy - p.a * r, last ? 5 : 2, 0, 2 * Math.PI);
    ctx.fill();
  });
  ctx.globalAlpha = 1;
}

const BAND_PX = 6;

/**
 * Series over the last `windowMs`: each `{ points: [{t, y, s}], colour, dash }`, y in [lo, hi], over a
 * band along the bottom (`[{t0, t1, colour}]`, the most likely expression over time). A point's `s`
 * (the ensemble members' standard deviation, when the event has one) is drawn as a translucent
 * band y ± s around the line: the uncertainty.
 */
export function drawTimeline(ctx, series, now, windowMs, lo, hi, band = []) {
  const { width: w, height: h } = ctx.canvas;
  const xOf = (t) => w - ((now - t) / windowMs) * w;
  ctx.clearRect(0, 0, w, h);
  for (const s of band) {
    ctx.fillStyle = s.colour;
    const x0 = Math.max(0, xOf(s.t0));
    ctx.fillRect(x0, h - BAND_PX, Math.max(1, Math.min(w, xOf(s.t1)) - x0), BAND_PX);
  }
  ctx.strokeStyle = '#46464f';
  ctx.lineWidth = 1;
  ctx.beginPath();
  // The middle of the scale: 0 for valence/arousal, 0.5 for a probability alone.
  const y0 = h - 0.5 * h;
  ctx.moveTo(0, y0);
  ctx.lineTo(w, y0);
  for (let s = 0; s <= windowMs; s += 10_000) {
    const x = w - (s / windowMs) * w;
    ctx.moveTo(x, 0);
    ctx.lineTo(x, h);
  }
  ctx.stroke();
  for (const s of series) drawSpread(ctx, s, xOf, (y) => h - ((y - lo) / (hi - lo)) * h);
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.setLineDash(s.dash ? [4, 3] : []);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (const p of s.points) {
      const x = xOf(p.t);
      const y = h - ((p.y - lo) / (hi - lo)) * h;
      if (started) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      started = true;
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** The band y ± s of the points that have a spread, split where a point has none. */
function drawSpread(ctx, series, xOf, yOf) {
  const runs = [[]];
  for (const p of series.points) {
    if (typeof p.s === 'number') runs[runs.length - 1].push(p);
    else if (runs[runs.length - 1].length > 0) runs.push([]);
  }
  ctx.fillStyle = series.colour;
  ctx.globalAlpha = 0.18;
  for (const run of runs) {
    if (run.length < 2) continue;
    ctx.beginPath();
    run.forEach((p, i) => (i === 0 ? ctx.moveTo(xOf(p.t), yOf(p.y + p.s)) : ctx.lineTo(xOf(p.t), yOf(p.y + p.s))));
    for (let i = run.length - 1; i >= 0; i--) ctx.lineTo(xOf(run[i].t), yOf(run[i].y - run[i].s));
    ctx.closePath();
    ctx.fill();
  }
  ctx.globalAlpha = 1;
}
