/**
 * The seed's eval transform (spec §1.3) in NHWC: Resize(134) on the shorter side (bilinear),
 * CenterCrop(112), 0–255 scale, minus the RGB mean (std is 1, nothing is divided).
 */
import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import { INPUT_SIZE, MEAN_RGB, RESIZE_SIZE } from './constants.js';
import { SeedModelError } from './errors.js';
import { pilResizeBilinear } from './pil-resize.js';

export interface PreprocessGeometry {
  readonly resizedHeight: number;
  readonly resizedWidth: number;
  readonly top: number;
  readonly left: number;
}

/** Python's round(): halves go to the even neighbour (torchvision CenterCrop uses it). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision 0.14 `Resize(int)`: the shorter side becomes `resize`, the longer one
 * int(resize · long / short); then `CenterCrop`: offset round((size − crop) / 2).
 * A 112×112 face → 134×134, crop rows/cols 11…122.
 */
export function preprocessGeometry(height: number, width: number, resize = RESIZE_SIZE, crop = INPUT_SIZE): PreprocessGeometry {
  const [resizedHeight, resizedWidth] =
    width <= height ? [Math.trunc((resize * height) / width), resize] : [resize, Math.trunc((resize * width) / height)];
  return {
    resizedHeight,
    resizedWidth,
    top: roundHalfEven((resizedHeight - crop) / 2),
    left: roundHalfEven((resizedWidth - crop) / 2),
  };
}

export interface PreprocessOptions {
  /**
   * Round the resized image to integers as PIL does (it resizes uint8 images to uint8).
   * Default true: closer to the seed's pipeline than a float resize.
   */
  readonly quantize?: boolean;
}

/** An RGB face as raw bytes, HWC. */
export interface RgbFace {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
}

/**
 * Exact path: Pillow's uint8 bilinear resize (bit-exact port), centre crop, mean subtraction,
 * on the CPU. One 112→134 face costs well under a millisecond. Returns HWC 112×112×3 floats.
 */
export function preprocessFacePixels(face: RgbFace): Float32Array {
  const { data, height, width } = face;
  if (data.length !== height * width * 3) {
    throw new SeedModelError('VA_ERR_MODEL_INPUT', `face data must be ${height}×${width}×3 bytes, got ${data.length}`);
  }
  const g = preprocessGeometry(height, width);
  const resized = g.resizedHeight === height && g.resizedWidth === width ? data : pilResizeBilinear(data, height, width, 3, g.resizedHeight, g.resizedWidth);
  const out = new Float32Array(INPUT_SIZE * INPUT_SIZE * 3);
  for (let y = 0; y < INPUT_SIZE; y++) {
    const row = ((y + g.top) * g.resizedWidth + g.left) * 3;
    for (let x = 0; x < INPUT_SIZE * 3; x += 3) {
      for (let c = 0; c < 3; c++) out[y * INPUT_SIZE * 3 + x + c] = (resized[row + x + c] ?? 0) - (MEAN_RGB[c as 0 | 1 | 2]);
    }
  }
  return out;
}

/** Exact path for a batch of faces (sizes may differ) → [B, 112, 112, 3]. Caller owns the result. */
export function preprocessFacePixelsBatch(faces: readonly RgbFace[]): Tensor4D {
  if (faces.length === 0) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'no faces to preprocess');
  const size = INPUT_SIZE * INPUT_SIZE * 3;
  const batch = new Float32Array(faces.length * size);
  faces.forEach((f, i) => batch.set(preprocessFacePixels(f), i * size));
  return tf.tensor4d(batch, [faces.length, INPUT_SIZE, INPUT_SIZE, 3]);
}

/**
 * Tensor path (stays on the backend, approximates PIL to ±1 intensity level):
 * [B, H, W, 3] RGB faces with 0–255 values (any numeric dtype; all faces share a size) →
 * [B, 112, 112, 3] float32 model input. Caller owns the result; the input is not disposed.
 */
export function preprocessFaces(faces: Tensor4D, opts: PreprocessOptions = {}): Tensor4D {
  const [, h, w, c] = faces.shape;
  if (faces.rank !== 4 || c !== 3 || h < 1 || w < 1) {
    throw new SeedModelError('VA_ERR_MODEL_INPUT', `faces must be [B, H, W, 3] RGB, got [${faces.shape.join(',')}]`);
  }
  const g = preprocessGeometry(h, w);
  return tf.tidy(() => {
    let x: Tensor4D = tf.cast(faces, 'float32');
    if (g.resizedHeight !== h || g.resizedWidth !== w) {
      // halfPixelCenters=true samples at pixel centres like PIL; for upscaling PIL's triangle
      // filter then reduces to plain bilinear with edge clamping.
      x = tf.image.resizeBilinear(x, [g.resizedHeight, g.resizedWidth], false, true);
      if (opts.quantize !== false) x = tf.clipByValue(tf.floor(tf.add(x, 0.5)), 0, 255) as Tensor4D;
    }
    x = tf.slice(x, [0, g.top, g.left, 0], [-1, INPUT_SIZE, INPUT_SIZE, 3]);
    return tf.sub(x, tf.tensor1d([...MEAN_RGB])) as Tensor4D;
  });
}

/** One face [H, W, 3] → [112, 112, 3]. */
export function preprocessFace(face: Tensor3D, opts: PreprocessOptions = {}): Tensor3D {
  return tf.tidy(() => tf.squeeze(preprocessFaces(tf.expandDims(face, 0), opts), [0]));
}

/** Faces of possibly different sizes → one [B, 112, 112, 3] batch. */
export function preprocessFaceList(faces: readonly Tensor3D[], opts: PreprocessOptions = {}): Tensor4D {
  if (faces.length === 0) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'no faces to preprocess');
  return tf.tidy(() => tf.stack(faces.map((f) => preprocessFace(f, opts))) as Tensor4D);
}
