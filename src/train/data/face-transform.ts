/**
 * The seed's training/eval transform on one decoded face (spec §1.3): Resize(134) on the shorter
 * side (Pillow's uint8 bilinear, bit-exact), a 112 crop, an optional horizontal flip, 0–255 minus
 * the RGB mean. The crop and flip come from the augmentation:
 * - `none`: the centre crop (the eval transform);
 * - `per-image`: crop offsets drawn independently per axis in [0, H'−112] × [0, W'−112] (0…22 for a
 *   square face) and a flip with probability ½, per image, from (seed, step, index) — what the
 *   seed's augment_transforms was meant to do;
 * - `fixed`: the original's single draw v for the whole run: x1 = y1 = int(22·v), flip iff v < ½
 *   (spec §9.1.2).
 */
import { INPUT_SIZE, MEAN_RGB } from '../../models/seed/constants.js';
import { pilResizeBilinear } from '../../models/seed/pil-resize.js';
import { preprocessGeometry } from '../../models/seed/preprocess.js';
import type { RgbImage } from '../../streams/decode-image.js';
import { Rng } from './rng.js';
import type { Augmentation } from './types.js';

export interface CropPlan {
  readonly top: number;
  readonly left: number;
  readonly flip: boolean;
}

/** The face resized so that its shorter side is 134 (identity when it already is). */
export function resizeForCrop(img: RgbImage): RgbImage {
  const g = preprocessGeometry(img.height, img.width);
  if (g.resizedHeight === img.height && g.resizedWidth === img.width) return img;
  return { data: pilResizeBilinear(img.data, img.height, img.width, 3, g.resizedHeight, g.resizedWidth), width: g.resizedWidth, height: g.resizedHeight };
}

/** Where to crop a resized face of `height`×`width` for sample `index` of `step`. */
export function cropPlan(height: number, width: number, aug: Augmentation, step: number, index: number): CropPlan {
  const maxTop = height - INPUT_SIZE;
  const maxLeft = width - INPUT_SIZE;
  switch (aug.kind) {
    case 'none': {
      const g = preprocessGeometry(height, width, Math.min(height, width));
      return { top: g.top, left: g.left, flip: false };
    }
    case 'per-image': {
      const rng = Rng.of(aug.seed, step, index);
      return { top: rng.int(maxTop + 1), left: rng.int(maxLeft + 1), flip: rng.next() < 0.5 };
    }
    case 'fixed': {
      if (!(aug.v >= 0 && aug.v < 1)) throw new RangeError(`fixed augmentation needs v in [0, 1), got ${aug.v}`);
      const off = Math.trunc(22 * aug.v);
      return { top: Math.min(off, maxTop), left: Math.min(off, maxLeft), flip: aug.v < 0.5 };
    }
  }
}

/** Writes the 112×112×3 network input of a resized face into `out` at `offset` (floats). */
export function cropInto(resized: RgbImage, plan: CropPlan, out: Float32Array, offset: number): void {
  const { data, width } = resized;
  const m0 = MEAN_RGB[0];
  const m1 = MEAN_RGB[1];
  const m2 = MEAN_RGB[2];
  let o = offset;
  for (let y = 0; y < INPUT_SIZE; y++) {
    const row = ((y + plan.top) * width + plan.left) * 3;
    for (let x = 0; x < INPUT_SIZE; x++) {
      const i = row + (plan.flip ? INPUT_SIZE - 1 - x : x) * 3;
      out[o++] = data[i]! - m0;
      out[o++] = data[i + 1]! - m1;
      out[o++] = data[i + 2]! - m2;
    }
  }
}
