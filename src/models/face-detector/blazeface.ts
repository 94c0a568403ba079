import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import { BLAZEFACE_INPUT, humanModelPath } from './constants.js';
import { loadFaceGraph, type FaceGraph, type FaceGraphOptions, type GraphOutput } from './face-graph.js';
import type { Box } from './types.js';

export interface BlazeCandidate {
  /** In pixels of the image passed to detect(). */
  readonly box: Box;
  readonly score: number;
}

function anchors(inputSize: number): Float32Array {
  // Two feature maps (stride 16 with 2 anchors, stride 32 with 6), as MediaPipe's short-range detector.
  const spec = [
    { stride: inputSize / 16, count: 2 },
    { stride: inputSize / 8, count: 6 },
  ];
  const out: number[] = [];
  for (const { stride, count } of spec) {
    const grid = Math.floor((inputSize + stride - 1) / stride);
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        for (let n = 0; n < count; n++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

/** BlazeFace (MediaPipe, via @vladmandic/human's packaged graph model). */
export class BlazeFace {
  private constructor(
    private readonly model: FaceGraph,
    private readonly anchorXY: Float32Array,
  ) {}

  static async load(opts: FaceGraphOptions = { engine: 'auto', threads: 1 }, modelPath = humanModelPath('blazeface.json')): Promise<BlazeFace> {
    return new BlazeFace(await loadFaceGraph(modelPath, opts), anchors(BLAZEFACE_INPUT));
  }

  get engine(): FaceGraph['engine'] {
    return this.model.engine;
  }

  /** The network's raw outputs on a prepared [1,256,256,3] input in −1..1 (parity tests). */
  raw(input: Tensor4D): Promise<GraphOutput[]> {
    return this.model.run(input);
  }

  /**
   * The network input for `image` (float32 HWC in 0..255): letterboxed (padded bottom/right) to a
   * square, 256×256, in −1..1. The caller owns the result.
   */
  prepare(image: Tensor3D): Tensor4D {
    const [h, w] = image.shape;
    const side = Math.max(h, w);
    return tf.tidy(() => {
      // Resize first, then pad: the same letterbox as padding the full frame, at a fraction of the cost.
      const rh = Math.max(1, Math.round((h * BLAZEFACE_INPUT) / side));
      const rw = Math.max(1, Math.round((w * BLAZEFACE_INPUT) / side));
      const resized = tf.image.resizeBilinear(image, [rh, rw]);
      const normalised = tf.sub(tf.div(resized, 127.5), 1);
      // Pad with -1 (black after normalisation), as the zero-padded frame would give.
      const padded = tf.pad(normalised, [[0, BLAZEFACE_INPUT - rh], [0, BLAZEFACE_INPUT - rw], [0, 0]], -1);
      return tf.expandDims<Tensor4D>(padded, 0);
    });
  }

  /** `image` is float32 HWC in 0..255; candidates are in its pixels. */
  async detect(image: Tensor3D, minScore: number): Promise<BlazeCandidate[]> {
    const side = Math.max(image.shape[0], image.shape[1]);
    const input = this.prepare(image);
    let outs: GraphOutput[];
    try {
      outs = await this.model.run(input);
    } finally {
      input.dispose();
    }
    // The packaged model is a PINTO conversion with four heads: ordering them by size pairs the
    // 16×16 (512 anchors) and 8×8 (384 anchors) maps' scores with their regressors; rows are the
    // 512 anchors then the 384, each [score logit, 16 regressors].
    const [a, b, c, d] = [...outs].sort((x, y) => x.data.length - y.data.length) as [GraphOutput, GraphOutput, GraphOutput, GraphOutput];
    if (b.data.length !== 512 || a.data.length !== 384 || d.data.length !== 512 * 16 || c.data.length !== 384 * 16) throw new Error('blazeface model returned unexpected outputs');
    const stride = 17;
    const rows = new Float32Array(896 * stride);
    for (const [offset, score, reg, count] of [[0, b, d, 512], [512, a, c, 384]] as const) {
      for (let i = 0; i < count; i++) {
        rows[(offset + i) * stride] = score.data[i]!;
        rows.set(reg.data.subarray(i * 16, i * 16 + 16), (offset + i) * stride + 1);
      }
    }
    const scale = side / BLAZEFACE_INPUT;
    const logitMin = Math.log(minScore / (1 - minScore));
    const out: BlazeCandidate[] = [];
    const n = rows.length / stride;
    for (let i = 0; i < n; i++) {
      const logit = rows[i * stride]!;
      if (logit < logitMin) continue;
      const cx = (rows[i * stride + 1]! + this.anchorXY[2 * i]!) * scale;
      const cy = (rows[i * stride + 2]! + this.anchorXY[2 * i + 1]!) * scale;
      const bw = rows[i * stride + 3]! * scale;
      const bh = rows[i * stride + 4]! * scale;
      out.push({ box: [cx - bw / 2, cy - bh / 2, bw, bh], score: 1 / (1 + Math.exp(-logit)) });
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
