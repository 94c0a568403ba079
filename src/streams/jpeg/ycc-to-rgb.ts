/**
 * YCbCr → RGB with libjpeg's fixed-point tables (jdcolor.c build_ycc_rgb_table and
 * ycc_rgb_convert: SCALEBITS 16, ONE_HALF folded into the Cb→G table, results clamped to 0–255).
 */
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);

const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Packed RGB24 from three full-size planes. */
export function yccToRgb(y: Uint8Array, cb: Uint8Array, cr: Uint8Array): Uint8Array {
  const out = new Uint8Array(y.length * 3);
  for (let i = 0, o = 0; i < y.length; i++, o += 3) {
    const l = y[i]!;
    const b = cb[i]!;
    const r = cr[i]!;
    out[o] = clamp(l + CR_R[r]!);
    out[o + 1] = clamp(l + ((CB_G[b]! + CR_G[r]!) >> SCALEBITS));
    out[o + 2] = clamp(l + CB_B[b]!);
  }
  return out;
}

/** Packed RGB24 from three full-size R, G, B planes (an Adobe transform-0 JPEG) or one grey plane. */
export function interleave(r: Uint8Array, g: Uint8Array = r, b: Uint8Array = r): Uint8Array {
  const out = new Uint8Array(r.length * 3);
  for (let i = 0, o = 0; i < r.length; i++, o += 3) {
    out[o] = r[i]!;
    out[o + 1] = g[i]!;
    out[o + 2] = b[i]!;
  }
  return out;
}
