/**
 * Bit-exact port of Pillow's 8-bit bilinear resize (`ImagingResample`, Pillow 7–10): separable,
 * horizontal pass first, fixed-point coefficients with 22 fractional bits, and the intermediate
 * image rounded to uint8. The seed's `Resize(134)` runs on PIL images, so this reproduces its
 * input exactly; a float bilinear resize differs by one intensity level on a fraction of pixels,
 * which the network amplifies (environment.md).
 */

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coefficients {
  /** Per output index: first input index and its fixed-point weights. */
  readonly bounds: Int32Array;
  readonly weights: Int32Array;
  readonly kSize: number;
}

function bilinear(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

function precomputeCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const kSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * kSize);
  const k = new Float64Array(kSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C casts truncate toward zero; these values are ≥ −0.5 so trunc matches.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinear((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? (k[x] ?? 0) / ww : (k[x] ?? 0);
      weights[xx * kSize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, kSize };
}

function clip8(v: number): number {
  if (v >= 1 << PRECISION_BITS << 8) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/**
 * Resizes an HWC uint8 image with `channels` channels. Sums stay below 2^31 (255·2^22·Σw with
 * Σw ≈ 1), so plain JS numbers reproduce the C int arithmetic.
 */
export function pilResizeBilinear(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Uint8Array {
  if (src.length !== height * width * channels) throw new Error(`expected ${height * width * channels} bytes, got ${src.length}`);
  let img = src;
  let w = width;
  if (outWidth !== width) {
    const c = precomputeCoefficients(width, outWidth);
    const out = new Uint8Array(height * outWidth * channels);
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = c.bounds[xx * 2] ?? 0;
        const xmax = c.bounds[xx * 2 + 1] ?? 0;
        for (let ch = 0; ch < channels; ch++) {
          let ss = HALF;
          for (let x = 0; x < xmax; x++) ss += (img[(y * w + x + xmin) * channels + ch] ?? 0) * (c.weights[xx * c.kSize + x] ?? 0);
          out[(y * outWidth + xx) * channels + ch] = clip8(ss);
        }
      }
    }
    img = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const c = precomputeCoefficients(height, outHeight);
    const out = new Uint8Array(outHeight * w * channels);
    for (let yy = 0; yy < outHeight; yy++) {
      const ymin = c.bounds[yy * 2] ?? 0;
      const ymax = c.bounds[yy * 2 + 1] ?? 0;
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < channels; ch++) {
          let ss = HALF;
          for (let y = 0; y < ymax; y++) ss += (img[((y + ymin) * w + x) * channels + ch] ?? 0) * (c.weights[yy * c.kSize + y] ?? 0);
          out[(yy * w + x) * channels + ch] = clip8(ss);
        }
      }
    }
    img = out;
  }
  return img;
}
