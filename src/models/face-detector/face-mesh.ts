import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import { FACEMESH_INPUT, MESH_CROP_SCALE, MESH_INDEX, humanModelPath } from './constants.js';
import { loadFaceGraph, type FaceGraph, type FaceGraphOptions, type GraphOutput } from './face-graph.js';
import { meshMeasures, type MeshMeasures } from './mesh-measures.js';
import type { Box, FiveLandmarks, Point, RgbImage } from './types.js';

/**
 * A square mesh crop: `box` its axis-aligned square (image pixels, may extend past the edges),
 * turned by `angle` (radians, positive clockwise in the image) about its centre, so that a face
 * whose roll is `angle` stands upright in it (MediaPipe's rotated ROI): the mesh, trained on
 * upright faces, underestimates the tilt of a face it sees tilted.
 */
export interface MeshCrop {
  readonly box: Box;
  readonly angle: number;
}

export interface MeshResult {
  readonly score: number;
  readonly landmarks: FiveLandmarks;
  /** Tight box around all 468 mesh points. */
  readonly box: Box;
  /** The crop for this face in the next frame: the tight box in the face's upright frame, enlarged, turned by its roll. */
  readonly next: MeshCrop;
  /** Head pose and eye aspect ratios from the 468 points. */
  readonly measures: MeshMeasures;
}

/** MediaPipe FaceMesh (468 points) on square crops; gives the five alignment points and presence. */
export class FaceMesh {
  private constructor(private readonly model: FaceGraph) {}

  static async load(opts: FaceGraphOptions = { engine: 'auto', threads: 1 }, modelPath = humanModelPath('facemesh.json')): Promise<FaceMesh> {
    return new FaceMesh(await loadFaceGraph(modelPath, opts));
  }

  get engine(): FaceGraph['engine'] {
    return this.model.engine;
  }

  /** The network's raw outputs on a prepared [n,192,192,3] input in 0..1 (parity tests). */
  raw(input: Tensor4D): Promise<GraphOutput[]> {
    return this.model.run(input);
  }

  /**
   * `image` float32 HWC 0..255; `crops` square boxes in image pixels (may extend past the edges).
   * Crops run one at a time: the packaged graph's face-presence output is only valid for the
   * first item of a batch (measured: batch items 2..n score ≈0 on clear faces).
   */
  async run(image: Tensor3D, crops: readonly (Box | MeshCrop)[], pixels?: RgbImage): Promise<MeshResult[]> {
    const results: MeshResult[] = [];
    for (const crop of crops) results.push(await this.runOne(image, crop, pixels));
    return results;
  }

  /**
   * A turned crop cut in JS straight from the 8-bit pixels (bilinear, black outside), the same
   * mapping as {@link prepare}'s warp: TF.js's image.transform on WASM measured about twice the
   * cost of an upright cropAndResize per face.
   */
  private prepareTurned(pixels: RgbImage, crop: MeshCrop): Tensor4D {
    const { data, width, height } = pixels;
    const c = crop.box;
    const n = FACEMESH_INPUT;
    const k = c[2] / n;
    const [cos, sin] = [Math.cos(crop.angle), Math.sin(crop.angle)];
    const [cx, cy] = [c[0] + c[2] / 2, c[1] + c[3] / 2];
    const half = c[2] / 2;
    const out = new Float32Array(n * n * 3);
    const scale = 1 / 255;
    for (let v = 0; v < n; v++) {
      const dy = v * k - half;
      for (let u = 0; u < n; u++) {
        const dx = u * k - half;
        const x = cx + cos * dx - sin * dy;
        const y = cy + sin * dx + cos * dy;
        if (!(x >= 0 && y >= 0 && x <= width - 1 && y <= height - 1)) continue;
        const x0 = Math.min(width - 2, Math.floor(x));
        const y0 = Math.min(height - 2, Math.floor(y));
        const fx = x - x0;
        const fy = y - y0;
        const a = (y0 * width + x0) * 3;
        const b = a + width * 3;
        const o = (v * n + u) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const top = data[a + ch]! * (1 - fx) + data[a + 3 + ch]! * fx;
          const bottom = data[b + ch]! * (1 - fx) + data[b + 3 + ch]! * fx;
          out[o + ch] = (top * (1 - fy) + bottom * fy) * scale;
        }
      }
    }
    return tf.tensor4d(out, [1, n, n, 3]);
  }

  /** The network input for crop `c` of `image` (float32 HWC 0..255): [1,192,192,3] in 0..1. The caller owns it. */
  prepare(image: Tensor3D, crop: Box | MeshCrop): Tensor4D {
    const [h, w] = image.shape;
    const { box: c, angle } = asCrop(crop);
    if (angle !== 0) {
      return tf.tidy(() => {
        // Output pixel (x, y) ↦ image point centre + R(angle)·((x, y)·k − side/2), as `toImage` maps mesh points back.
        const k = c[2] / FACEMESH_INPUT;
        const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
        const [cx, cy] = [c[0] + c[2] / 2, c[1] + c[3] / 2];
        const half = c[2] / 2;
        // Only the rectangle the turned square covers is handed to the warp (its cost grows with the input).
        const reach = half * (Math.abs(cos) + Math.abs(sin)) + 2;
        const x0 = Math.max(0, Math.floor(cx - reach));
        const y0 = Math.max(0, Math.floor(cy - reach));
        const x1 = Math.min(w, Math.ceil(cx + reach));
        const y1 = Math.min(h, Math.ceil(cy + reach));
        if (x1 <= x0 || y1 <= y0) return tf.zeros([1, FACEMESH_INPUT, FACEMESH_INPUT, 3]) as Tensor4D;
        const patch = tf.slice(image, [y0, x0, 0], [y1 - y0, x1 - x0, 3]);
        const transform = tf.tensor2d([[cos * k, -sin * k, cx - cos * half + sin * half - x0, sin * k, cos * k, cy - sin * half - cos * half - y0, 0, 0]]);
        const turned = tf.image.transform(tf.expandDims<Tensor4D>(patch, 0), transform, 'bilinear', 'constant', 0, [FACEMESH_INPUT, FACEMESH_INPUT]);
        return tf.div<Tensor4D>(turned, 255);
      });
    }
    return tf.tidy(() => {
      const boxes = tf.tensor2d([[c[1] / h, c[0] / w, (c[1] + c[3]) / h, (c[0] + c[2]) / w]]);
      const crop = tf.image.cropAndResize(tf.expandDims<Tensor4D>(image, 0), boxes, tf.tensor1d([0], 'int32'), [FACEMESH_INPUT, FACEMESH_INPUT]);
      return tf.div<Tensor4D>(crop, 255);
    });
  }

  private async runOne(image: Tensor3D, crop: Box | MeshCrop, pixels?: RgbImage): Promise<MeshResult> {
    const { box: c, angle } = asCrop(crop);
    const input = pixels && angle !== 0 ? this.prepareTurned(pixels, { box: c, angle }) : this.prepare(image, crop);
    let outs: GraphOutput[];
    try {
      outs = await this.model.run(input);
    } finally {
      input.dispose();
    }
    const mesh = outs.find((t) => t.shape[t.shape.length - 1] === 1404)?.data;
    const scores = outs.find((t) => t.shape[t.shape.length - 1] === 1)?.data;
    if (!mesh || !scores) throw new Error('facemesh model returned unexpected outputs');
    const s = c[2] / FACEMESH_INPUT;
    const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
    const [cx, cy] = [c[0] + c[2] / 2, c[1] + c[3] / 2];
    const half = c[2] / 2;
    // Crop pixels to image pixels (the identity rotation keeps the upright path's arithmetic exactly).
    const toImage = (x: number, y: number): Point =>
      angle === 0 ? [c[0] + x * s, c[1] + y * s] : [cx + cos * (x * s - half) - sin * (y * s - half), cy + sin * (x * s - half) + cos * (y * s - half)];
    const pt = (i: number): Point => toImage(mesh[3 * i]!, mesh[3 * i + 1]!);
    const mid = (i: number, j: number): Point => {
      const [a, b] = [pt(i), pt(j)];
      return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    };
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    let u1 = Infinity, v1 = Infinity, u2 = -Infinity, v2 = -Infinity;
    for (let i = 0; i < 468; i++) {
      const [x, y] = pt(i);
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      const [u, v] = [mesh[3 * i]!, mesh[3 * i + 1]!];
      if (u < u1) u1 = u;
      if (u > u2) u2 = u;
      if (v < v1) v1 = v;
      if (v > v2) v2 = v;
    }
    const landmarks: FiveLandmarks = [
      mid(MESH_INDEX.imageLeftEyeOuter, MESH_INDEX.imageLeftEyeInner),
      mid(MESH_INDEX.imageRightEyeInner, MESH_INDEX.imageRightEyeOuter),
      pt(MESH_INDEX.noseTip),
      pt(MESH_INDEX.imageLeftMouth),
      pt(MESH_INDEX.imageRightMouth),
    ];
    const measures = meshMeasures(mesh, angle);
    // The next crop: the tight box in the crop's (upright) frame, centred where it lies in the image.
    const [ncx, ncy] = toImage((u1 + u2) / 2, (v1 + v2) / 2);
    const side = Math.max(u2 - u1, v2 - v1) * s * MESH_CROP_SCALE;
    const next: MeshCrop = { box: [ncx - side / 2, ncy - side / 2, side, side], angle: (measures.pose.roll * Math.PI) / 180 };
    return { score: scores[0]!, landmarks, box: [x1, y1, x2 - x1, y2 - y1], next, measures };
  }

  dispose(): void {
    this.model.dispose();
  }
}

function asCrop(crop: Box | MeshCrop): MeshCrop {
  return 'angle' in crop ? crop : { box: crop as Box, angle: 0 };
}
