/**
 * Chroma upsampling as libjpeg-turbo's jdsample.c does it with do_fancy_upsampling (PIL's
 * default): triangular h2v1 and h2v2 filters with their alternating rounding biases, h1v2
 * (libjpeg-turbo ≥ 2.0), box replication where libjpeg falls back to it (a component two samples
 * wide or less, other integer ratios). Edges replicate the component's last real sample and row
 * (its downsampled width and height, never the block padding), as jdmainct.c's context rows do.
 */

/** A component's IDCT output: `width × height` real samples in rows of `stride`. */
export interface SamplePlane {
  readonly data: Uint8Array;
  readonly stride: number;
  readonly width: number;
  readonly height: number;
  readonly h: number;
  readonly v: number;
}

/**
 * The plane at the image's size (`outW × outH`), or a reason when libjpeg cannot upsample this
 * ratio either ("Fractional sampling not implemented yet").
 */
export function upsample(p: SamplePlane, maxH: number, maxV: number, outW: number, outH: number): Uint8Array | string {
  if (p.h === maxH && p.v === maxV) return box(p, 1, 1, outW, outH);
  if (p.h * 2 === maxH && p.v === maxV) return p.width > 2 ? h2v1Fancy(p, outW, outH) : box(p, 2, 1, outW, outH);
  if (p.h === maxH && p.v * 2 === maxV) return h1v2Fancy(p, outW, outH);
  if (p.h * 2 === maxH && p.v * 2 === maxV) return p.width > 2 ? h2v2Fancy(p, outW, outH) : box(p, 2, 2, outW, outH);
  if (maxH % p.h === 0 && maxV % p.v === 0) return box(p, maxH / p.h, maxV / p.v, outW, outH);
  return `sampling factors ${p.h}×${p.v} of ${maxH}×${maxV} (fractional upsampling)`;
}

/** Row `y` of the plane, with rows outside it replaced by the nearest real one. */
function rowAt(p: SamplePlane, y: number): number {
  return (y < 0 ? 0 : y >= p.height ? p.height - 1 : y) * p.stride;
}

function box(p: SamplePlane, hx: number, vx: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const r = Math.floor(y / vx) * p.stride;
    for (let x = 0; x < outW; x++) out[y * outW + x] = p.data[r + Math.floor(x / hx)]!;
  }
  return out;
}

function h2v1Fancy(p: SamplePlane, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const row = new Uint8Array(p.width * 2);
  const d = p.data;
  for (let y = 0; y < outH; y++) {
    const r = y * p.stride;
    const w = p.width;
    row[0] = d[r]!;
    row[1] = (d[r]! * 3 + d[r + 1]! + 2) >> 2;
    for (let i = 1; i < w - 1; i++) {
      const v = d[r + i]! * 3;
      row[2 * i] = (v + d[r + i - 1]! + 1) >> 2;
      row[2 * i + 1] = (v + d[r + i + 1]! + 2) >> 2;
    }
    row[2 * w - 2] = (d[r + w - 1]! * 3 + d[r + w - 2]! + 1) >> 2;
    row[2 * w - 1] = d[r + w - 1]!;
    out.set(row.subarray(0, outW), y * outW);
  }
  return out;
}

function h1v2Fancy(p: SamplePlane, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const d = p.data;
  for (let y = 0; y < outH; y++) {
    const near = rowAt(p, y >> 1);
    // Even output rows lean on the row above (bias 1), odd ones on the row below (bias 2).
    const odd = y & 1;
    const far = rowAt(p, (y >> 1) + (odd ? 1 : -1));
    const bias = odd ? 2 : 1;
    for (let x = 0; x < outW; x++) out[y * outW + x] = (d[near + x]! * 3 + d[far + x]! + bias) >> 2;
  }
  return out;
}

function h2v2Fancy(p: SamplePlane, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const row = new Uint8Array(p.width * 2);
  const d = p.data;
  const w = p.width;
  for (let y = 0; y < outH; y++) {
    const near = rowAt(p, y >> 1);
    const far = rowAt(p, (y >> 1) + (y & 1 ? 1 : -1));
    const sum = (i: number): number => d[near + i]! * 3 + d[far + i]!;
    let last = sum(0);
    let cur = last;
    row[0] = (cur * 4 + 8) >> 4;
    let next = sum(1);
    row[1] = (cur * 3 + next + 7) >> 4;
    last = cur;
    cur = next;
    for (let i = 1; i < w - 1; i++) {
      next = sum(i + 1);
      row[2 * i] = (cur * 3 + last + 8) >> 4;
      row[2 * i + 1] = (cur * 3 + next + 7) >> 4;
      last = cur;
      cur = next;
    }
    row[2 * w - 2] = (cur * 3 + last + 8) >> 4;
    row[2 * w - 1] = (cur * 4 + 7) >> 4;
    out.set(row.subarray(0, outW), y * outW);
  }
  return out;
}
