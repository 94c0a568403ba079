import { tf, type Tensor4D } from '../tf.js';
import type { Alignment, FiveLandmarks } from '../../core/records.js';

/**
 * The seed's MTCNN alignment (spec §7.1) as one similarity transform: rotate so the eyes are
 * level, then a square of side 2α centred on C = (E+M)/2, where E and M are the eye and
 * mouth-corner midpoints and α = max(eye distance, vertical eye-to-mouth distance) measured in the
 * rotated frame; resized to `size`. Coordinates are continuous (pixel centres at +0.5).
 */
export function computeAlignment(landmarks: FiveLandmarks, size = 112): Alignment {
  const [le, re, , ml, mr] = landmarks;
  const dx = re[0] - le[0];
  const dy = re[1] - le[1];
  const eyeDist = Math.hypot(dx, dy);
  // Degenerate landmarks (both eyes on one pixel) fall back to an upright crop.
  const d: [number, number] = eyeDist > 1e-6 ? [dx / eyeDist, dy / eyeDist] : [1, 0];
  const n: [number, number] = [-d[1], d[0]];
  const E = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2] as const;
  const M = [(ml[0] + mr[0]) / 2, (ml[1] + mr[1]) / 2] as const;
  const C = [(E[0] + M[0]) / 2, (E[1] + M[1]) / 2] as const;
  const eyeToMouth = (M[0] - E[0]) * n[0] + (M[1] - E[1]) * n[1];
  const alpha = Math.max(eyeDist, eyeToMouth, 1);
  const s = (2 * alpha) / size;
  return {
    cropToSource: [s * d[0], s * n[0], C[0] - alpha * (d[0] + n[0]), s * d[1], s * n[1], C[1] - alpha * (d[1] + n[1])],
    size,
    angleDeg: (Math.atan2(dy, dx) * 180) / Math.PI,
  };
}

/** Maps a continuous crop coordinate to the source frame. */
export function cropPointToSource(a: Alignment, u: number, v: number): [number, number] {
  const [p, q, tx, r, t, ty] = a.cropToSource;
  return [p * u + q * v + tx, r * u + t * v + ty];
}

/** Maps a continuous source coordinate into the crop (inverse of the similarity). */
export function sourcePointToCrop(a: Alignment, x: number, y: number): [number, number] {
  const [p, q, tx, r, t, ty] = a.cropToSource;
  const det = p * t - q * r;
  const X = x - tx;
  const Y = y - ty;
  return [(t * X - q * Y) / det, (-r * X + p * Y) / det];
}

/** Integer pixel rectangle of the image that covers an aligned crop (clamped to the image). */
function coveringRect(a: Alignment, scale: number, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const corners = [
    [0, 0],
    [a.size, 0],
    [0, a.size],
    [a.size, a.size],
  ].map(([u, v]) => cropPointToSource(a, u!, v!).map((c) => c * scale));
  const xs = corners.map((c) => c[0]!);
  const ys = corners.map((c) => c[1]!);
  const x = Math.max(0, Math.floor(Math.min(...xs)) - 1);
  const y = Math.max(0, Math.floor(Math.min(...ys)) - 1);
  const x2 = Math.min(width, Math.ceil(Math.max(...xs)) + 1);
  const y2 = Math.min(height, Math.ceil(Math.max(...ys)) + 1);
  return { x, y, w: Math.max(0, x2 - x), h: Math.max(0, y2 - y) };
}

/**
 * Cuts the aligned crops out of an RGB image (HWC uint8) with a bilinear projective warp.
 * `imageScale` maps source-frame pixels to the image's pixels (image.width / sourceWidth);
 * pixels outside the frame are black, as in the seed. Only the rectangle around each face is
 * uploaded, not the frame. Returns float32 [N, size, size, 3], 0–255, owned by the caller.
 */
export function cropAlignedFaces(
  image: { readonly data: Uint8Array; readonly width: number; readonly height: number },
  alignments: readonly Alignment[],
  imageScale = 1,
): Tensor4D {
  const size = alignments[0]?.size ?? 112;
  if (alignments.some((a) => a.size !== size)) throw new RangeError('all alignments in one batch must share a crop size');
  return tf.tidy(() => {
    if (alignments.length === 0) return tf.zeros([0, size, size, 3]) as Tensor4D;
    const crops = alignments.map((a) => {
      const r = coveringRect(a, imageScale, image.width, image.height);
      if (r.w === 0 || r.h === 0) return tf.zeros([1, size, size, 3]) as Tensor4D;
      const patch = new Uint8Array(r.w * r.h * 3);
      for (let row = 0; row < r.h; row++) {
        const from = ((r.y + row) * image.width + r.x) * 3;
        patch.set(image.data.subarray(from, from + r.w * 3), row * r.w * 3);
      }
      const img = tf.cast(tf.tensor4d(patch, [1, r.h, r.w, 3], 'int32'), 'float32') as Tensor4D;
      // Output index (i, j) sits at continuous crop coordinate (i+0.5, j+0.5); the input index is
      // the continuous image coordinate minus 0.5, minus the patch origin.
      const [p, q, tx, s, t, ty] = a.cropToSource.map((v) => v * imageScale) as unknown as [number, number, number, number, number, number];
      const transform = tf.tensor2d([[p, q, tx + 0.5 * (p + q) - 0.5 - r.x, s, t, ty + 0.5 * (s + t) - 0.5 - r.y, 0, 0]]);
      return tf.image.transform(img, transform, 'bilinear', 'constant', 0, [size, size]) as Tensor4D;
    });
    return (crops.length === 1 ? crops[0]! : tf.concat(crops, 0)) as Tensor4D;
  });
}

/**
 * The aligned crops as 8-bit RGB faces (rounded and clamped, as a saved crop would hold them):
 * the affect models' input, cut the same way live and offline.
 */
export function cropAlignedFacesUint8(
  image: { readonly data: Uint8Array; readonly width: number; readonly height: number },
  alignments: readonly Alignment[],
  imageScale = 1,
): { data: Uint8Array; width: number; height: number }[] {
  if (alignments.length === 0) return [];
  const crops = cropAlignedFaces(image, alignments, imageScale);
  let values: Float32Array;
  try {
    values = crops.dataSync<'float32'>();
  } finally {
    crops.dispose();
  }
  const size = alignments[0]!.size;
  const per = size * size * 3;
  return alignments.map((_, i) => {
    const data = new Uint8Array(per);
    for (let k = 0; k < per; k++) data[k] = Math.min(255, Math.max(0, Math.round(values[i * per + k]!)));
    return { data, width: size, height: size };
  });
}
