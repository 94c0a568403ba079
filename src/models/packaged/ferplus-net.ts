/**
 * The FER+ ResNet-50 (`resnet50_ferplus_dag`, Albanie's MatConvNet → PyTorch conversion) run as
 * an expression classifier with its own FER+ classifier: the seed's caffe ResNet-50 forward (BN
 * folded), global average pooling — pool5_7x7_s1 of the original, identical at its 224×224 input,
 * where conv5 is 7×7 — then the 1×1-conv classifier as a matrix product.
 *
 * Preprocessing is the one Albanie's benchmark code gives the converted model (pytorch-benchmarks
 * utils/benchmark_helpers.py `compose_transforms` with fer2013/fer.py's `center_crop=False`): a
 * PIL image resized bilinear to `meta.imageSize` (224×224, no crop), `ToTensor()` × 255 (std is
 * [1, 1, 1]), minus `meta.mean` [131.0912, 103.8827, 91.4953] in RGB order.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor4D } from '../tf.js';
import { inferDims, seedParams } from '../seed/architecture.js';
import { foldBatchNorms, foldedConvBn, weight } from '../seed/conv-bn.js';
import { EXPR_LABELS } from '../seed/constants.js';
import { ModelWeightsError, SeedModelError, type WeightProblem } from '../seed/errors.js';
import { pilResizeBilinear } from '../seed/pil-resize.js';
import type { RgbFace } from '../seed/preprocess.js';
import { resnet50CaffeForward, resnet50ConvBnPairs } from '../seed/resnet50-caffe.js';
import type { ResNet50Dims } from '../seed/resnet50-layers.js';
import { sameShape } from '../seed/weight-check.js';
import type { FerplusMemberSpec } from './manifest.js';

export const FERPLUS_CLASSIFIER_KERNEL = 'classifier/kernel';
export const FERPLUS_CLASSIFIER_BIAS = 'classifier/bias';

/** BT.601 luma, as the packaged grey members compute it. */
const LUMA = [0.2989, 0.587, 0.114] as const;

export class FerplusNet {
  private folded: Map<string, Tensor> | undefined;

  private constructor(
    private readonly dims: ResNet50Dims,
    folded: Map<string, Tensor>,
    private readonly input: FerplusMemberSpec['input'],
  ) {
    this.folded = folded;
  }

  /**
   * Checks every weight's name and shape (the backbone widths read off the weights, the classifier
   * [C5, 7]), folds the BNs and takes ownership of nothing: the caller disposes `weights`.
   */
  static fromWeights(weights: ReadonlyMap<string, Tensor>, input: FerplusMemberSpec['input'], where: string): FerplusNet {
    const shapes = new Map([...weights].map(([n, t]) => [n, t.shape] as const));
    const dims = inferDims('resnet50-caffe', (n) => shapes.get(n));
    if (dims.backbone.arch !== 'resnet50-caffe') throw new Error('unreachable: resnet50-caffe dims');
    const feature = dims.backbone.dims.stages.at(-1)?.out ?? 0;
    const expected = [
      ...seedParams('cnn', dims)
        .filter((p) => p.tf.startsWith('backbone/'))
        .map((p) => [p.tf, p.tfShape] as const),
      [FERPLUS_CLASSIFIER_KERNEL, [feature, EXPR_LABELS.length]] as const,
      [FERPLUS_CLASSIFIER_BIAS, [EXPR_LABELS.length]] as const,
    ];
    const problems: WeightProblem[] = [];
    const names = new Set<string>();
    for (const [name, shape] of expected) {
      names.add(name);
      const actual = shapes.get(name);
      if (actual === undefined) problems.push({ kind: 'missing', name, expected: shape });
      else if (!sameShape(actual, shape)) problems.push({ kind: 'shape', name, expected: shape, actual });
      else if (weights.get(name)?.dtype !== 'float32') problems.push({ kind: 'dtype', name, dtype: weights.get(name)?.dtype ?? '?' });
    }
    for (const [name, actual] of shapes) if (!names.has(name)) problems.push({ kind: 'unexpected', name, actual });
    if (problems.length > 0) throw new ModelWeightsError(where, problems);
    const folded = foldBatchNorms(weights, resnet50ConvBnPairs(dims.backbone.dims));
    const [kernel, bias] = tf.tidy(() => [tf.clone(weight(weights, FERPLUS_CLASSIFIER_KERNEL)), tf.clone(weight(weights, FERPLUS_CLASSIFIER_BIAS))]);
    folded.set(FERPLUS_CLASSIFIER_KERNEL, kernel);
    folded.set(FERPLUS_CLASSIFIER_BIAS, bias);
    return new FerplusNet(dims.backbone.dims, folded, input);
  }

  /** One face → the network's input, HWC: Pillow's uint8 bilinear resize, then (x − mean) / divisor. */
  preprocessFace(face: RgbFace): Float32Array {
    const { size, colour, mean, divisor } = this.input;
    if (face.data.length !== face.height * face.width * 3) throw new SeedModelError('VA_ERR_MODEL_INPUT', `face data must be ${face.height}×${face.width}×3 bytes, got ${face.data.length}`);
    const resized = face.height === size && face.width === size ? face.data : pilResizeBilinear(face.data, face.height, face.width, 3, size, size);
    const out = new Float32Array(size * size * 3);
    for (let i = 0; i < size * size; i++) {
      const r = resized[3 * i] ?? 0;
      const g = resized[3 * i + 1] ?? 0;
      const b = resized[3 * i + 2] ?? 0;
      // FER+ images are greyscale; its loader feeds the same grey value in all three channels.
      const grey = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
      const px = colour === 'grey-rgb' ? [grey, grey, grey] : [r, g, b];
      for (let c = 0; c < 3; c++) out[3 * i + c] = ((px[c] ?? 0) - mean[c as 0 | 1 | 2]) / divisor;
    }
    return out;
  }

  /** Faces (uint8 RGB, any size) → the network's input [B, size, size, 3]. Caller owns the result. */
  preprocess(faces: readonly RgbFace[]): Tensor4D {
    const size = this.input.size;
    const batch = new Float32Array(faces.length * size * size * 3);
    faces.forEach((f, i) => batch.set(this.preprocessFace(f), i * size * size * 3));
    return tf.tensor4d(batch, [faces.length, size, size, 3]);
  }

  /** Preprocessed faces → [B, 7] logits in the member's `labels` order. Caller owns the result. */
  forward(x: Tensor4D): Tensor2D {
    const folded = this.folded;
    if (folded === undefined) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'the FER+ network was used after dispose()');
    return tf.tidy(() => {
      const features = resnet50CaffeForward(x, this.dims, foldedConvBn(folded));
      return tf.add(tf.matMul(features, weight<Tensor2D>(folded, FERPLUS_CLASSIFIER_KERNEL)), weight<Tensor1D>(folded, FERPLUS_CLASSIFIER_BIAS)) as Tensor2D;
    });
  }

  dispose(): void {
    const folded = this.folded;
    this.folded = undefined;
    if (folded !== undefined) for (const t of folded.values()) t.dispose();
  }
}
