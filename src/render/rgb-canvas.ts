import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './bitmap-font.js';

export type Rgb = readonly [number, number, number];

/**
 * Plain-JS drawing into a packed RGB24 buffer: filled and outlined rectangles, lines, image blits
 * and bitmap text. Everything is clipped to the canvas, so callers may draw partly outside it.
 */
export class RgbCanvas {
  constructor(
    readonly data: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {
    if (data.length !== width * height * 3) throw new RangeError(`canvas buffer of ${data.length} bytes for ${width}×${height}`);
  }

  fill(c: Rgb): void {
    this.rect(0, 0, this.width, this.height, c);
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    if (!(x1 > x0) || !(y1 > y0)) return;
    const d = this.data;
    // Fill the first row pixel by pixel, then copy it: far fewer JS operations for wide rectangles.
    const rowStart = (y0 * this.width + x0) * 3;
    for (let i = rowStart, e = rowStart + (x1 - x0) * 3; i < e; i += 3) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
    }
    for (let y = y0 + 1; y < y1; y++) d.copyWithin((y * this.width + x0) * 3, rowStart, rowStart + (x1 - x0) * 3);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, t = 2): void {
    this.rect(x, y, w, t, c);
    this.rect(x, y + h - t, w, t, c);
    this.rect(x, y, t, h, c);
    this.rect(x + w - t, y, t, h, c);
  }

  /** A line of thickness `t` (square pen), by stepping along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, t = 2): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    // Clip to the canvas (Liang–Barsky) so the steps below never exceed its size.
    const dx = x1 - x0;
    const dy = y1 - y0;
    let u0 = 0;
    let u1 = 1;
    for (const [p, q] of [
      [-dx, x0 + t],
      [dx, this.width + t - x0],
      [-dy, y0 + t],
      [dy, this.height + t - y0],
    ] as const) {
      if (p === 0) {
        if (q < 0) return;
        continue;
      }
      const u = q / p;
      if (p < 0) u0 = Math.max(u0, u);
      else u1 = Math.min(u1, u);
      if (u0 > u1) return;
    }
    [x0, y0, x1, y1] = [x0 + u0 * dx, y0 + u0 * dy, x0 + u1 * dx, y0 + u1 * dy];
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const h = t / 2;
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      this.rect(x - h, y - h, t, t, c);
    }
  }

  /** Copies an RGB image with its top-left corner at (x, y). */
  blit(img: { readonly data: Uint8Array; readonly width: number; readonly height: number }, x: number, y: number): void {
    x = Math.round(x);
    y = Math.round(y);
    const x0 = Math.max(0, x);
    const x1 = Math.min(this.width, x + img.width);
    if (x1 <= x0) return;
    for (let sy = Math.max(0, -y); sy < img.height && y + sy < this.height; sy++) {
      const src = (sy * img.width + (x0 - x)) * 3;
      this.data.set(img.data.subarray(src, src + (x1 - x0) * 3), ((y + sy) * this.width + x0) * 3);
    }
  }

  /** Bitmap text with its top-left corner at (x, y); `scale` font pixels per canvas pixel. */
  text(s: string, x: number, y: number, c: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of s) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = rows[r] ?? 0;
        for (let b = 0; b < GLYPH_WIDTH; b++) {
          if (bits & (1 << (GLYPH_WIDTH - 1 - b))) this.rect(cx + b * scale, y + r * scale, scale, scale, c);
        }
      }
      cx += GLYPH_ADVANCE * scale;
    }
  }

  static textWidth(s: string, scale = 2): number {
    return [...s].length * GLYPH_ADVANCE * scale;
  }
}
