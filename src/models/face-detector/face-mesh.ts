import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import { FACEMESH_INPUT, MESH_INDEX, humanModelPath } from './constants.js';
import { loadFaceGraph, type FaceGraph, type FaceGraphOptions, type GraphOutput } from './face-graph.js';
import type { Box, FiveLandmarks, Point } from './types.js';

export interface MeshResult {
  readonly score: number;
  readonly landmarks: FiveLandmarks;
  /** Tight box around all 468 mesh points. */
  readonly box: Box;
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
  async run(image: Tensor3D, crops: readonly Box[]): Promise<MeshResult[]> {
    const results: MeshResult[] = [];
    for (const crop of crops) results.push(await this.runOne(image, crop));
    return results;
  }

  /** The network input for crop `c` of `image` (float32 HWC 0..255): [1,192,192,3] in 0..1. The caller owns it. */
  prepare(image: Tensor3D, c: Box): Tensor4D {
    const [h, w] = image.shape;
    return tf.tidy(() => {
      const boxes = tf.tensor2d([[c[1] / h, c[0] / w, (c[1] + c[3]) / h, (c[0] + c[2]) / w]]);
      const crop = tf.image.cropAndResize(tf.expandDims<Tensor4D>(image, 0), boxes, tf.tensor1d([0], 'int32'), [FACEMESH_INPUT, FACEMESH_INPUT]);
      return tf.div<Tensor4D>(crop, 255);
    });
  }

  private async runOne(image: Tensor3D, c: Box): Promise<MeshResult> {
    const input = this.prepare(image, c);
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
    const pt = (i: number): Point => [c[0] + mesh[3 * i]! * s, c[1] + mesh[3 * i + 1]! * s];
    const mid = (i: number, j: number): Point => {
      const [a, b] = [pt(i), pt(j)];
      return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    };
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (let i = 0; i < 468; i++) {
      const [x, y] = pt(i);
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
    const landmarks: FiveLandmarks = [
      mid(MESH_INDEX.imageLeftEyeOuter, MESH_INDEX.imageLeftEyeInner),
      mid(MESH_INDEX.imageRightEyeInner, MESH_INDEX.imageRightEyeOuter),
      pt(MESH_INDEX.noseTip),
      pt(MESH_INDEX.imageLeftMouth),
      pt(MESH_INDEX.imageRightMouth),
    ];
    return { score: scores[0]!, landmarks, box: [x1, y1, x2 - x1, y2 - y1] };
  }

  dispose(): void {
    this.model.dispose();
  }
}
