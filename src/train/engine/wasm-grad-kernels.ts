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
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, Tensor, TensorInfo } from '../../models/tf.js';
import { tf, type Tensor4D } from '../../models/tf.js';

function asTensor(info: TensorInfo | undefined, name: string): Tensor {
  if (info === undefined) throw new Error(`missing kernel input ${name}`);
  // makeTensorFromTensorInfo does not take a backend reference, but disposing the wrapper
  // releases one: take it, or the kernel frees its own input.
  const t = tf.engine().makeTensorFromTensorInfo(info);
  tf.engine().backend.incRef(info.dataId);
  return t;
}

/** The attributes TF.js gives both convolution backward kernels. */
interface ConvGradAttrs {
  readonly strides: [number, number] | number;
  readonly pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface FilterGradAttrs extends ConvGradAttrs {
  readonly filterShape: [number, number, number, number];
}

/**
 * dW of a 2-D convolution (NHWC, dilation 1) as one forward convolution with batch and channels
 * swapped: the input transposed to [C, H, W, B] is convolved with the output gradient
 * transposed to [OH, OW, B, O] as the filter, dilated by the stride; the [C, kh, kw, O] result is
 * the filter gradient up to a transpose. XNNPACK runs it as one GEMM with K = OH·OW·B.
 */
export function conv2dFilterGrad(x: Tensor4D, dy: Tensor4D, a: FilterGradAttrs): Tensor4D {
  if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const [, h, w] = x.shape;
  return tf.tidy(() => {
    const { top, left } = info.padInfo;
    // Pad so the dilated "filter" slides exactly kh × kw positions.
    const bottom = Math.max(0, (oh - 1) * sh + kh - (h + top));
    const right = Math.max(0, (ow - 1) * sw + kw - (w + left));
    let xt = tf.transpose(x, [3, 1, 2, 0]) as Tensor4D;
    if (top + bottom + left + right > 0) xt = tf.pad(xt, [[0, 0], [top, bottom], [left, right], [0, 0]]) as Tensor4D;
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    if (xt.shape[1] > needH || xt.shape[2] > needW) xt = tf.slice(xt, [0, 0, 0, 0], [-1, needH, needW, -1]);
    const filt = tf.transpose(dy, [1, 2, 0, 3]) as Tensor4D;
    const g = tf.conv2d(xt, filt, 1, 'valid', 'NHWC', [sh, sw]);
    return tf.transpose(g, [1, 2, 0, 3]) as Tensor4D;
  });
}

interface InputGradAttrs extends ConvGradAttrs {
  readonly inputShape: [number, number, number, number];
}

/** Inserts s − 1 zeros between neighbouring rows/columns: [B, H, W, C] → [B, (H−1)·sh+1, (W−1)·sw+1, C]. */
function dilate(x: Tensor4D, sh: number, sw: number): Tensor4D {
  if (sh === 1 && sw === 1) return x;
  // Two rank-4 pads (the wasm Pad kernel misbehaves on rank 6).
  const [b, h, w, c] = x.shape;
  let y: Tensor4D = x;
  if (sh > 1) y = tf.reshape(tf.pad(tf.reshape(y, [b, h, 1, w * c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0]]), [b, h * sh, w, c]);
  if (sw > 1) y = tf.reshape(tf.pad(tf.reshape(y, [b * y.shape[1], w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]), [b, y.shape[1], w * sw, c]);
  return tf.slice(y, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/**
 * dx of a 2-D convolution as a forward convolution of the (stride-dilated, padded) output
 * gradient with the spatially flipped filter, input and output channels swapped. Replaces the
 * wasm backend's own kernel, a plain loop about 10× slower than XNNPACK's convolution.
 */
export function conv2dInputGrad(dy: Tensor4D, filter: Tensor4D, a: InputGradAttrs): Tensor4D {
  if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, h, w] = a.inputShape;
  return tf.tidy(() => {
    const d = dilate(dy, sh, sw);
    const lt = kh - 1 - info.padInfo.top;
    const ll = kw - 1 - info.padInfo.left;
    const rb = h + kh - 1 - lt - d.shape[1];
    const rr = w + kw - 1 - ll - d.shape[2];
    const pads = [Math.max(0, lt), Math.max(0, rb), Math.max(0, ll), Math.max(0, rr)] as const;
    // (No-op pads and reverses would alias their input's data, which a kernel must not return.)
    let p: Tensor4D = pads.some((v) => v > 0) ? tf.pad(d, [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]]) : d;
    if (lt < 0 || ll < 0 || rb < 0 || rr < 0) {
      p = tf.slice(p, [0, Math.max(0, -lt), Math.max(0, -ll), 0], [-1, h + kh - 1, w + kw - 1, -1]);
    }
    const flipped = tf.transpose(kh > 1 || kw > 1 ? tf.reverse(filter, [0, 1]) : filter, [0, 1, 3, 2]) as Tensor4D;
    return tf.conv2d(p, flipped, 1, 'valid');
  });
}

function inputGradKernel({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): Tensor {
  return tf.tidy(() => conv2dInputGrad(asTensor(inputs['dy'], 'dy') as Tensor4D, asTensor(inputs['filter'], 'filter') as Tensor4D, attrs as unknown as InputGradAttrs));
}

function filterGradKernel({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): Tensor {
  return tf.tidy(() => conv2dFilterGrad(asTensor(inputs['x'], 'x') as Tensor4D, asTensor(inputs['dy'], 'dy') as Tensor4D, attrs as unknown as FilterGradAttrs));
}

const KERNELS: readonly KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterGradKernel as unknown as KernelConfig['kernelFunc'] },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: inputGradKernel as unknown as KernelConfig['kernelFunc'] },
];

let registered = false;

/** Registers the wasm backward kernels once per process (replacing the backend's slow Conv2DBackpropInput). */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
  for (const k of KERNELS) {
    if (tf.getKernel(k.kernelName, k.backendName) !== undefined) tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel(k);
  }
}
