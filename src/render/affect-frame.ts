/**
 * The seed's demo layout (`emotion_demo.py`, spec §7.5) drawn in plain JS: the frame (960×740) with
 * face boxes and labels, AU bars (480×740), expression bars (480×740) and a valence/arousal plot
 * (full width × 340) over the last 16 s. Panels of tasks the model does not provide are left out and
 * the canvas shrinks accordingly. Up to `maxFaces` faces get bars (one band each, by track id).
 */
import type { Box } from '../core/records.js';
import { RgbCanvas, type Rgb } from './rgb-canvas.js';

export interface FaceAffect {
  readonly trackId: number;
  /** In source-frame pixels. */
  readonly box: Box;
  readonly au?: { readonly labels: readonly string[]; readonly probs: readonly number[]; readonly active?: readonly boolean[] };
  readonly expr?: { readonly labels: readonly string[]; readonly probs: readonly number[]; readonly label: string };
  readonly va?: { readonly valence: number; readonly arousal: number };
}

export interface AffectTasks {
  readonly au: boolean;
  readonly expr: boolean;
  readonly va: boolean;
}

export interface AffectLayout {
  readonly width: number;
  readonly height: number;
  readonly frameWidth: number;
  readonly frameHeight: number;
  /** Where the scaled frame sits, and its scale from source pixels. */
  readonly frame: { readonly x: number; readonly y: number; readonly scale: number };
  readonly au?: PanelRect;
  readonly expr?: PanelRect;
  readonly va?: PanelRect;
}

interface PanelRect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const FRAME_W = 960;
const TOP_H = 740;
const BAR_W = 480;
const VA_H = 340;
const BG: Rgb = [24, 24, 28];
const PANEL: Rgb = [36, 36, 42];
const GRID: Rgb = [70, 70, 80];
const TEXT: Rgb = [230, 230, 235];
const DIM: Rgb = [130, 130, 140];
const PALETTE: readonly Rgb[] = [
  [80, 200, 120],
  [90, 160, 250],
  [250, 170, 60],
  [230, 90, 200],
  [240, 230, 80],
  [90, 220, 220],
];

export const trackColour = (trackId: number): Rgb => PALETTE[((trackId % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
const lighter = (c: Rgb): Rgb => [Math.round((c[0] + 255) / 2), Math.round((c[1] + 255) / 2), Math.round((c[2] + 255) / 2)];

export function affectLayout(source: { readonly width: number; readonly height: number }, tasks: AffectTasks): AffectLayout {
  const topH = tasks.va ? TOP_H : TOP_H + VA_H;
  const bars = (tasks.au ? 1 : 0) + (tasks.expr ? 1 : 0);
  const width = FRAME_W + bars * BAR_W;
  const scale = Math.min(FRAME_W / source.width, topH / source.height);
  const frameWidth = Math.max(2, Math.round(source.width * scale));
  const frameHeight = Math.max(2, Math.round(source.height * scale));
  return {
    width,
    height: tasks.va ? TOP_H + VA_H : topH,
    frameWidth,
    frameHeight,
    frame: { x: Math.floor((FRAME_W - frameWidth) / 2), y: Math.floor((topH - frameHeight) / 2), scale },
    ...(tasks.au ? { au: { x: FRAME_W, y: 0, w: BAR_W, h: topH } } : {}),
    ...(tasks.expr ? { expr: { x: FRAME_W + (tasks.au ? BAR_W : 0), y: 0, w: BAR_W, h: topH } } : {}),
    ...(tasks.va ? { va: { x: 0, y: TOP_H, w: width, h: VA_H } } : {}),
  };
}

/** Paints one output frame at a time; keeps each track's valence/arousal history for the plot. */
export class AffectFramePainter {
  private readonly history = new Map<number, { pts: number; v: number; a: number }[]>();
  private lastShown: readonly FaceAffect[] = [];

  constructor(
    readonly layout: AffectLayout,
    private readonly opts: { readonly maxFaces?: number; readonly vaWindowSeconds?: number } = {},
  ) {}

  paint(out: Uint8Array, frame: { readonly data: Uint8Array; readonly width: number; readonly height: number }, pts: number, faces: readonly FaceAffect[]): void {
    const L = this.layout;
    const c = new RgbCanvas(out, L.width, L.height);
    c.fill(BG);
    c.blit(frame, L.frame.x, L.frame.y);
    for (const f of faces) this.drawBox(c, f);
    const shown = [...faces].sort((a, b) => a.trackId - b.trackId).slice(0, this.opts.maxFaces ?? 3);
    // As the seed's demo: frames without a face keep showing the last prediction (marked as such).
    const stale = shown.length === 0 && this.lastShown.length > 0;
    const bars = stale ? this.lastShown : shown;
    if (shown.length > 0) this.lastShown = shown;
    if (L.au) this.drawBars(c, L.au, 'ACTION UNITS', bars, stale, (f) => f.au && { labels: f.au.labels, probs: f.au.probs, on: f.au.active ?? f.au.probs.map((p) => p >= 0.5) });
    if (L.expr) {
      this.drawBars(c, L.expr, 'EXPRESSION', bars, stale, (f) => f.expr && { labels: f.expr.labels, probs: f.expr.probs, on: f.expr.labels.map((l) => l === f.expr!.label) });
    }
    if (L.va) {
      for (const f of faces) {
        if (!f.va) continue;
        let h = this.history.get(f.trackId);
        if (!h) this.history.set(f.trackId, (h = []));
        h.push({ pts, v: f.va.valence, a: f.va.arousal });
      }
      this.drawVa(c, L.va, pts);
    }
  }

  private drawBox(c: RgbCanvas, f: FaceAffect): void {
    const { x: ox, y: oy, scale } = this.layout.frame;
    const col = trackColour(f.trackId);
    const x = ox + f.box[0] * scale;
    const y = oy + f.box[1] * scale;
    const w = f.box[2] * scale;
    const h = f.box[3] * scale;
    c.strokeRect(x, y, w, h, col, 3);
    const label = `#${f.trackId}${f.expr ? ` ${f.expr.label} ${(Math.max(...f.expr.probs) * 100).toFixed(0)}%` : ''}`;
    const tw = RgbCanvas.textWidth(label, 2) + 8;
    const ly = y >= 22 ? y - 22 : y + h;
    c.rect(x, ly, tw, 22, col);
    c.text(label, x + 4, ly + 4, [0, 0, 0], 2);
  }

  private drawBars(
    c: RgbCanvas,
    r: PanelRect,
    title: string,
    faces: readonly FaceAffect[],
    stale: boolean,
    pick: (f: FaceAffect) => { labels: readonly string[]; probs: readonly number[]; on: readonly boolean[] } | undefined,
  ): void {
    c.rect(r.x + 4, r.y + 4, r.w - 8, r.h - 8, PANEL);
    c.text(title, r.x + 16, r.y + 16, TEXT, 3);
    if (faces.length === 0) {
      c.text('NO FACE', r.x + 16, r.y + 60, DIM, 2);
      return;
    }
    const bandH = (r.h - 56) / faces.length;
    faces.forEach((f, i) => {
      const d = pick(f);
      const top = r.y + 52 + i * bandH;
      const col = trackColour(f.trackId);
      c.text(`TRACK ${f.trackId}${stale ? ' (LAST SEEN)' : ''}`, r.x + 16, top + 4, stale ? DIM : col, 2);
      if (!d) return;
      const rowH = Math.min(40, (bandH - 28) / d.labels.length);
      const labelW = 120;
      const barX = r.x + 16 + labelW;
      const barW = r.w - 32 - labelW - 60;
      d.labels.forEach((label, k) => {
        const p = Math.min(1, Math.max(0, d.probs[k] ?? 0));
        const y = top + 26 + k * rowH;
        const bh = Math.max(4, rowH - 8);
        c.text(label.slice(0, 9), r.x + 16, y + (bh - 14) / 2, TEXT, 2);
        c.rect(barX, y, barW, bh, GRID);
        c.rect(barX, y, barW * p, bh, d.on[k] === true && !stale ? col : DIM);
        c.text(p.toFixed(2), barX + barW + 8, y + (bh - 14) / 2, TEXT, 2);
      });
    });
  }

  private drawVa(c: RgbCanvas, r: PanelRect, now: number): void {
    const windowS = this.opts.vaWindowSeconds ?? 16;
    c.rect(r.x + 4, r.y + 4, r.w - 8, r.h - 8, PANEL);
    c.text(`VALENCE (SOLID) / AROUSAL (LIGHT), LAST ${windowS} S`, r.x + 16, r.y + 14, TEXT, 2);
    const px = r.x + 60;
    const pw = r.w - 80;
    const py = r.y + 40;
    const ph = r.h - 60;
    const yOf = (v: number): number => py + ((1 - Math.max(-1, Math.min(1, v))) / 2) * ph;
    const xOf = (t: number): number => px + ((t - (now - windowS)) / windowS) * pw;
    for (const v of [-1, -0.5, 0, 0.5, 1]) {
      c.rect(px, yOf(v), pw, v === 0 ? 2 : 1, GRID);
      c.text(v.toFixed(1), r.x + 8, yOf(v) - 7, DIM, 2);
    }
    for (let s = 0; s <= windowS; s += 2) c.rect(xOf(now - windowS + s), py, 1, ph, GRID);
    for (const [track, h] of this.history) {
      while (h.length > 0 && h[0]!.pts < now - windowS) h.shift();
      if (h.length === 0) {
        this.history.delete(track);
        continue;
      }
      const col = trackColour(track);
      const light = lighter(col);
      for (let i = 1; i < h.length; i++) {
        const a = h[i - 1]!;
        const b = h[i]!;
        // A gap (the track was not seen) is not bridged by a line.
        if (b.pts - a.pts > 1) continue;
        c.line(xOf(a.pts), yOf(a.a), xOf(b.pts), yOf(b.a), light, 2);
        c.line(xOf(a.pts), yOf(a.v), xOf(b.pts), yOf(b.v), col, 3);
      }
    }
  }
}
