import type { Alignment } from '../../core/records.js';

/**
 * Side of the grid every face's sharpness is measured on, whatever its size and the configured
 * alignment size: so that a figure means the same for a face of 40 and of 400 pixels.
 */
export const SHARPNESS_GRID = 112;

interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Variance of the 3×3 Laplacian (4-neighbour) of the grey (BT.601 luma) aligned crop, sampled
 * bilinearly on a {@link SHARPNESS_GRID}² grid from `image` (`imageScale` = image pixels per
 * source pixel), in grey levels². Only grid points whose five taps fall inside the frame count,
 * so the frame's edge is not mistaken for detail; a face wholly outside gives 0. Pure JS on
 * ~12.5k samples: well under a millisecond per face.
 */
export function alignedSharpness(image: RgbImage, alignment: Alignment, imageScale: number): number {
  const n = SHARPNESS_GRID;
  const k = alignment.size / n;
  const { data, width, height } = image;
  // cropPointToSource (face-aligner), inlined and scaled to image pixels: this runs for every face of every frame.
  const [p, q, tx, r, t, ty] = alignment.cropToSource.map((v) => v * imageScale) as unknown as [number, number, number, number, number, number];
  // Grey (BT.601 luma) of the image rectangle the crop covers, once per pixel rather than per tap.
  const xs = [0, alignment.size].flatMap((u) => [0, alignment.size].map((v) => p * u + q * v + tx));
  const ys = [0, alignment.size].flatMap((u) => [0, alignment.size].map((v) => r * u + t * v + ty));
  const rx = Math.max(0, Math.floor(Math.min(...xs)) - 1);
  const ry = Math.max(0, Math.floor(Math.min(...ys)) - 1);
  const rw = Math.min(width, Math.ceil(Math.max(...xs)) + 2) - rx;
  const rh = Math.min(height, Math.ceil(Math.max(...ys)) + 2) - ry;
  if (rw < 2 || rh < 2) return 0;
  const luma = new Float32Array(rw * rh);
  for (let j = 0; j < rh; j++) {
    let o = ((ry + j) * width + rx) * 3;
    for (let i = 0; i < rw; i++, o += 3) luma[j * rw + i] = 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
  }
  const grey = new Float32Array(n * n);
  const inside = new Uint8Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      // Grid point (i, j) at crop coordinate ((i + 0.5)·k, (j + 0.5)·k); image pixel centres at +0.5.
      const u = (i + 0.5) * k;
      const v = (j + 0.5) * k;
      const x = p * u + q * v + tx - 0.5;
      const y = r * u + t * v + ty - 0.5;
      if (!(x >= 0 && y >= 0 && x <= width - 1 && y <= height - 1)) continue;
      const x0 = Math.min(rx + rw - 2, Math.floor(x));
      const y0 = Math.min(ry + rh - 2, Math.floor(y));
      if (x0 < rx || y0 < ry) continue;
      const fx = x - x0;
      const fy = y - y0;
      const o = (y0 - ry) * rw + (x0 - rx);
      const top = luma[o]! * (1 - fx) + luma[o + 1]! * fx;
      const bottom = luma[o + rw]! * (1 - fx) + luma[o + rw + 1]! * fx;
      grey[j * n + i] = top * (1 - fy) + bottom * fy;
      inside[j * n + i] = 1;
    }
  }
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (let j = 1; j < n - 1; j++) {
    for (let i = 1; i < n - 1; i++) {
      const c = j * n + i;
      if (!(inside[c]! & inside[c - 1]! & inside[c + 1]! & inside[c - n]! & inside[c + n]!)) continue;
      const lap = grey[c - 1]! + grey[c + 1]! + grey[c - n]! + grey[c + n]! - 4 * grey[c]!;
      count++;
      sum += lap;
      sumSq += lap * lap;
    }
  }
  if (count === 0) return 0;
  const mean = sum / count;
  return Math.max(0, sumSq / count - mean * mean);
}
