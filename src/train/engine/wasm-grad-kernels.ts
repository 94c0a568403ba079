/**
 * Backward kernels the wasm backend lacks, built from its fast forward kernels so training a
 * CNN runs on wasm (XNNPACK) instead of the pure-JS `cpu` backend.
 *
 * Conv2DBackpropFilter (the weight gradient of every convolution) is an im2col product:
 *   dW[i, j, c, o] = Σ_{b, y, x} xPad[b, y·s + i, x·s + j, c] · dy[b, y, x, o]
 * The k·k strided views of the padded input are concatenated along channels into patches
 * [B·OH·OW, k·k·C], and one matMul with transposeA gives [k·k·C, O], which is already the HWIO
 * layout. A 1×1 convolution needs no patches at all.
 */
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { tf, type Tensor2D, type Tensor4D } from '../../models/tf.js';

function asTensor(info: TensorInfo | undefined, name: string): Tensor {
  if (info === undefined) throw new Error(`missing kernel input ${name}`);
  return tf.engine().makeTensorFromTensorInfo(info);
}

interface FilterGradAttrs {
  readonly strides: [number, number] | number;
  readonly pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  readonly filterShape: [number, number, number, number];
}

/** dW of a 2-D convolution (NHWC, dilation 1) from the input and the output gradient. */
export function conv2dFilterGrad(x: Tensor4D, dy: Tensor4D, a: FilterGradAttrs): Tensor4D {
  if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const [b, , , c] = x.shape;
  const o = a.filterShape[3];
  return tf.tidy(() => {
    const n = b * oh * ow;
    const dy2 = tf.reshape(dy, [n, o]) as Tensor2D;
    const { top, bottom, left, right } = info.padInfo;
    const xp: Tensor4D = top + bottom + left + right > 0 ? (tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) as Tensor4D) : x;
    const views: Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const end = [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c];
        views.push((sh === 1 && sw === 1 ? tf.slice(xp, [0, i, j, 0], [b, oh, ow, c]) : tf.stridedSlice(xp, [0, i, j, 0], end, [1, sh, sw, 1])) as Tensor4D);
      }
    }
    const patches = tf.reshape(views.length === 1 ? (views[0] as Tensor4D) : tf.concat(views, 3), [n, kh * kw * c]) as Tensor2D;
    return tf.reshape(tf.matMul(patches, dy2, true, false), [kh, kw, c, o]) as Tensor4D;
  });
}

function filterGradKernel({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): Tensor {
  return tf.tidy(() => conv2dFilterGrad(asTensor(inputs['x'], 'x') as Tensor4D, asTensor(inputs['dy'], 'dy') as Tensor4D, attrs as unknown as FilterGradAttrs));
}

const KERNELS: readonly KernelConfig[] = [{ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterGradKernel as unknown as KernelConfig['kernelFunc'] }];

/** Registers the missing wasm backward kernels once per process (no-op for kernels already there). */
export function registerWasmGradKernels(): void {
  for (const k of KERNELS) {
    if (tf.getKernel(k.kernelName, k.backendName) === undefined) tf.registerKernel(k);
  }
}
