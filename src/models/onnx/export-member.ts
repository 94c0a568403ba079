/**
 * One seed ensemble member as two ONNX graphs, from the same (BN-folded) weights TF.js runs:
 * - `cnn`: faces [B, 112, 112, 3] (preprocessed, NHWC as TF.js takes them) → per task the head
 *   feature [B, hidden] (`feature_<task>`) and logits [B, n] (`logits_<task>`);
 * - `gru` (CNN-RNN members): per task features [B, T, hidden] → logits [B, T, n], each head an
 *   ONNX `GRU` (bidirectional, `linear_before_reset = 1`, which is PyTorch's cell) → ReLU → Linear.
 */
import { tf, type Tensor } from '../tf.js';
import { INPUT_SIZE, TASKS, TASK_OUTPUTS } from '../seed/constants.js';
import { compactBlocks } from '../seed/compact-layers.js';
import type { SeedModel } from '../seed/model.js';
import { resnet50Blocks } from '../seed/resnet50-layers.js';
import type { WeightMap } from '../seed/types.js';
import { GraphBuilder } from './graph-builder.js';

function data(w: WeightMap, name: string): { values: Float32Array; shape: number[] } {
  const t = w.get(name);
  if (t === undefined) throw new Error(`weight ${name} is missing`);
  return { values: t.dataSync<'float32'>().slice(), shape: t.shape };
}

function transposed(w: WeightMap, name: string, perm: number[]): { values: Float32Array; shape: number[] } {
  const t = w.get(name);
  if (t === undefined) throw new Error(`weight ${name} is missing`);
  const out = tf.tidy(() => tf.transpose(t as Tensor, perm));
  try {
    return { values: out.dataSync<'float32'>().slice(), shape: out.shape };
  } finally {
    out.dispose();
  }
}

/** PyTorch MaxPool2d's output overhang (ceil_mode) as extra bottom/right padding; see maxPoolTorch. */
function poolExtra(size: number, kernel: number, stride: number, pad: number, ceilMode: boolean): { out: number; extra: number } {
  const span = size + 2 * pad - kernel;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out -= 1;
  return { out, extra: Math.max(0, (out - 1) * stride + kernel - (size + 2 * pad)) };
}

/** Observed range of one activation (calibration), keyed `${conv}:in` / `${conv}:out`. */
export type ActivationRanges = ReadonlyMap<string, { readonly min: number; readonly max: number }>;

/**
 * How the CNN graph is written: plain fp32; `calibrate` adds every convolution's input and output
 * as extra graph outputs (`cal:<key>`) to observe their ranges; `int8` writes the QDQ form ONNX
 * Runtime fuses into integer kernels (VNNI on this CPU): per-channel symmetric int8 weights,
 * int32 biases, uint8 activations with calibrated scales.
 */
export type CnnExportMode = { readonly kind: 'fp32' } | { readonly kind: 'calibrate' } | { readonly kind: 'int8'; readonly ranges: ActivationRanges };

function uint8Params(r: { min: number; max: number } | undefined, key: string): { scale: number; zp: number } {
  if (r === undefined) throw new Error(`no calibration range for ${key}`);
  const min = Math.min(0, r.min);
  const max = Math.max(0, r.max, min + 1e-6);
  const scale = (max - min) / 255;
  return { scale, zp: Math.min(255, Math.max(0, Math.round(-min / scale))) };
}

class CnnExport {
  readonly g = new GraphBuilder('seed-cnn');
  private size = INPUT_SIZE;
  /** Tensor name → its quantise-dequantise output (each activation is quantised once). */
  private readonly qdq = new Map<string, string>();

  constructor(
    private readonly folded: WeightMap,
    private readonly mode: CnnExportMode = { kind: 'fp32' },
  ) {}

  private act(x: string, key: string): string {
    if (this.mode.kind === 'calibrate') {
      const name = `cal:${key}`;
      if (!this.qdq.has(name)) {
        this.qdq.set(name, name);
        this.g.op('Identity', [x], {}, [name]);
        this.g.tap(name);
      }
      return x;
    }
    if (this.mode.kind !== 'int8') return x;
    const done = this.qdq.get(x);
    if (done !== undefined) return done;
    const { scale, zp } = uint8Params(this.mode.ranges.get(key), key);
    const s = this.g.weight(`${key}/scale`, new Float32Array([scale]), []);
    const z = this.g.raw(`${key}/zp`, 2, new Uint8Array([zp]), []);
    const out = this.g.one('DequantizeLinear', [this.g.one('QuantizeLinear', [x, s, z]), s, z]);
    this.qdq.set(x, out);
    return out;
  }

  /**
   * An identity shortcut as the residual Add takes it. In int8 the block input's own quantised
   * copy (the one its first convolution reads): both Add inputs are then dequantised int8 and the
   * block output is quantised after its ReLU, which ONNX Runtime fuses into one QLinearAdd (the
   * ReLU folds into the zero point). In fp32 the Add, its ReLU and the re-quantisation each ran
   * on float tensors: 15 % of the int8 graph's kernel time here (9 % less CPU per face without them).
   */
  shortcut(x: string, key: string): string {
    return this.mode.kind === 'int8' ? this.act(x, key) : x;
  }

  convBn(x: string, conv: string, k: { stride: number; pad: number; relu: boolean }): string {
    const kernel = transposed(this.folded, `${conv}/kernel`, [3, 2, 0, 1]); // [kh,kw,in,out] → [out,in,kh,kw]
    const bias = data(this.folded, `${conv}/bias`);
    const kh = kernel.shape[2] as number;
    const attrs = { kernel_shape: [kh, kh], strides: [k.stride, k.stride], pads: [k.pad, k.pad, k.pad, k.pad] };
    let y: string;
    if (this.mode.kind === 'int8') {
      const xin = this.act(x, `${conv}:in`);
      const inScale = uint8Params(this.mode.ranges.get(`${conv}:in`), `${conv}:in`).scale;
      const out = kernel.shape[0] as number;
      const per = kernel.values.length / out;
      const wScale = new Float32Array(out);
      const wq = new Int8Array(kernel.values.length);
      const bq = new Int32Array(out);
      const bScale = new Float32Array(out);
      for (let c = 0; c < out; c++) {
        let m = 0;
        for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(kernel.values[c * per + i]!));
        const sc = m > 0 ? m / 127 : 1;
        wScale[c] = sc;
        for (let i = 0; i < per; i++) wq[c * per + i] = Math.max(-127, Math.min(127, Math.round(kernel.values[c * per + i]! / sc)));
        bScale[c] = inScale * sc;
        bq[c] = Math.round(bias.values[c]! / bScale[c]!);
      }
      const w = this.g.one('DequantizeLinear', [
        this.g.raw(`${conv}/kernel_q`, 3, new Uint8Array(wq.buffer), kernel.shape),
        this.g.weight(`${conv}/kernel_scale`, wScale, [out]),
        this.g.raw(`${conv}/kernel_zp`, 3, new Uint8Array(out), [out]),
      ], { axis: 0 });
      const b = this.g.one('DequantizeLinear', [
        this.g.raw(`${conv}/bias_q`, 6, new Uint8Array(bq.buffer), [out]),
        this.g.weight(`${conv}/bias_scale`, bScale, [out]),
        this.g.raw(`${conv}/bias_zp`, 6, new Uint8Array(out * 4), [out]),
      ], { axis: 0 });
      y = this.g.one('Conv', [xin, w, b], attrs);
    } else {
      this.act(x, `${conv}:in`);
      y = this.g.one('Conv', [x, this.g.weight(`${conv}/kernel`, kernel.values, kernel.shape), this.g.weight(`${conv}/bias`, bias.values, bias.shape)], attrs);
    }
    const r = k.relu ? this.g.one('Relu', [y]) : y;
    return this.act(r, `${conv}:out`);
  }

  /** Tracks the spatial size so the max-pool's PyTorch overhang can be written as static pads. */
  spatial(kernel: number, stride: number, pad: number): void {
    this.size = Math.floor((this.size + 2 * pad - kernel) / stride) + 1;
  }

  maxPool(x: string, kernel: number, stride: number, pad: number, ceilMode: boolean): string {
    const { out, extra } = poolExtra(this.size, kernel, stride, pad, ceilMode);
    this.size = out;
    return this.g.one('MaxPool', [x], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad + extra, pad + extra] });
  }
}

export function exportCnn(model: SeedModel, mode: CnnExportMode = { kind: 'fp32' }): Uint8Array {
  const { folded, raw } = model.exportWeights();
  const e = new CnnExport(folded, mode);
  const g = e.g;
  const S = 'backbone/';
  const faces = g.input('faces', ['batch', INPUT_SIZE, INPUT_SIZE, 3]);
  let h = g.one('Transpose', [faces], { perm: [0, 3, 1, 2] });
  const b = model.dims.backbone;
  if (b.arch === 'resnet50-caffe') {
    h = e.convBn(h, `${S}conv1_7x7_s2`, { stride: 2, pad: 3, relu: true });
    e.spatial(7, 2, 3);
    h = e.maxPool(h, 3, 2, 0, true);
    for (const blk of resnet50Blocks(b.dims)) {
      const n = `${S}${blk.name}`;
      const shortcut = blk.proj ? e.convBn(h, `${n}_1x1_proj`, { stride: blk.stride, pad: 0, relu: false }) : e.shortcut(h, `${n}_1x1_reduce:in`);
      let y = e.convBn(h, `${n}_1x1_reduce`, { stride: blk.stride, pad: 0, relu: true });
      y = e.convBn(y, `${n}_3x3`, { stride: 1, pad: 1, relu: true });
      y = e.convBn(y, `${n}_1x1_increase`, { stride: 1, pad: 0, relu: false });
      h = g.one('Relu', [g.one('Add', [y, shortcut])]);
    }
  } else {
    h = e.convBn(h, `${S}conv1`, { stride: 2, pad: 3, relu: true });
    e.spatial(7, 2, 3);
    h = e.maxPool(h, 3, 2, 1, false);
    for (const blk of compactBlocks(b.dims)) {
      const n = `${S}${blk.name}`;
      const shortcut = blk.downsample ? e.convBn(h, `${n}.downsample.0`, { stride: blk.stride, pad: 0, relu: false }) : e.shortcut(h, `${n}.conv1:in`);
      let y = e.convBn(h, `${n}.conv1`, { stride: blk.stride, pad: 1, relu: true });
      y = e.convBn(y, `${n}.conv2`, { stride: 1, pad: 1, relu: false });
      h = g.one('Relu', [g.one('Add', [y, shortcut])]);
    }
  }
  const f = g.one('Flatten', [g.one('GlobalAveragePool', [h])], { axis: 1 });
  const hidden = model.dims.hidden;
  for (const task of TASKS) {
    const s = `heads/${task}`;
    const w0 = data(folded, `${s}/fc_0/kernel`);
    const b0 = data(folded, `${s}/fc_0/bias`);
    const hid = g.one('Relu', [g.one('Gemm', [f, g.weight(`${s}/fc_0/kernel`, w0.values, w0.shape), g.weight(`${s}/fc_0/bias`, b0.values, b0.shape)])]);
    const sc = data(folded, `${s}/bn1/scale`);
    const sh = data(folded, `${s}/bn1/shift`);
    g.op('Add', [g.one('Mul', [hid, g.weight(`${s}/bn1/scale`, sc.values, sc.shape)]), g.weight(`${s}/bn1/shift`, sh.values, sh.shape)], {}, [`feature_${task}`]);
    const w1 = data(raw, `${s}/fc_1/kernel`);
    const b1 = data(raw, `${s}/fc_1/bias`);
    g.op('Gemm', [`feature_${task}`, g.weight(`${s}/fc_1/kernel`, w1.values, w1.shape), g.weight(`${s}/fc_1/bias`, b1.values, b1.shape)], {}, [`logits_${task}`]);
    g.output(`feature_${task}`, ['batch', hidden]);
    g.output(`logits_${task}`, ['batch', TASK_OUTPUTS[task]]);
  }
  return g.encode({ part: 'cnn', architecture: model.arch, hidden: String(hidden), precision: mode.kind === 'int8' ? 'int8' : 'fp32' });
}

/** PyTorch gate blocks r|z|n (TF.js columns) → ONNX z|r|h rows. */
function onnxGateRows(kernel: Float32Array, rows: number, cols: number, hidden: number): Float32Array {
  // kernel is [rows=in, cols=3H] row-major; ONNX wants [3H, in] with blocks z, r, n.
  const out = new Float32Array(rows * cols);
  const order = [1, 0, 2]; // ONNX block k takes PyTorch block order[k]
  for (let k = 0; k < 3; k++) {
    for (let j = 0; j < hidden; j++) {
      const src = order[k]! * hidden + j;
      const dst = k * hidden + j;
      for (let i = 0; i < rows; i++) out[dst * rows + i] = kernel[i * cols + src]!;
    }
  }
  return out;
}

function onnxGateBias(bias: Float32Array, hidden: number): Float32Array {
  const out = new Float32Array(3 * hidden);
  out.set(bias.subarray(hidden, 2 * hidden), 0);
  out.set(bias.subarray(0, hidden), hidden);
  out.set(bias.subarray(2 * hidden, 3 * hidden), 2 * hidden);
  return out;
}

export function exportGru(model: SeedModel): Uint8Array {
  if (model.kind !== 'cnn-rnn') throw new RangeError('exportGru() needs a cnn-rnn member');
  const { raw } = model.exportWeights();
  const g = new GraphBuilder('seed-gru');
  const hidden = model.dims.hidden;
  const reshape = g.ints('shape_bt_2h', [0, 0, -1]);
  for (const task of TASKS) {
    const scope = `gru/${task}/gru`;
    const x = g.input(`feature_${task}`, ['batch', 'time', hidden]);
    const dirs = (['forward', 'backward'] as const).map((d) => {
      const kih = data(raw, `${scope}/${d}/kernel_ih`);
      const khh = data(raw, `${scope}/${d}/kernel_hh`);
      const gh = khh.shape[0] as number;
      return {
        gh,
        W: onnxGateRows(kih.values, kih.shape[0] as number, kih.shape[1] as number, gh),
        R: onnxGateRows(khh.values, gh, khh.shape[1] as number, gh),
        B: [onnxGateBias(data(raw, `${scope}/${d}/bias_ih`).values, gh), onnxGateBias(data(raw, `${scope}/${d}/bias_hh`).values, gh)],
        inputs: kih.shape[0] as number,
      };
    });
    const [fw, bw] = dirs as [(typeof dirs)[0], (typeof dirs)[0]];
    const gh = fw.gh;
    const cat = (a: Float32Array, b: Float32Array): Float32Array => {
      const o = new Float32Array(a.length + b.length);
      o.set(a, 0);
      o.set(b, a.length);
      return o;
    };
    const W = g.weight(`${scope}/W`, cat(fw.W, bw.W), [2, 3 * gh, fw.inputs]);
    const R = g.weight(`${scope}/R`, cat(fw.R, bw.R), [2, 3 * gh, gh]);
    const B = g.weight(`${scope}/B`, cat(cat(fw.B[0]!, fw.B[1]!), cat(bw.B[0]!, bw.B[1]!)), [2, 6 * gh]);
    const seq = g.one('Transpose', [x], { perm: [1, 0, 2] }); // [T, B, F]
    const [y] = g.op('GRU', [seq, W, R, B], { direction: 'bidirectional', hidden_size: gh, linear_before_reset: 1 }, [`gru_y_${task}`, `gru_h_${task}`]);
    // Y [T, 2, B, H] → [B, T, 2, H] → [B, T, 2H]: forward then backward, as TF.js concatenates.
    const yb = g.one('Reshape', [g.one('Transpose', [y as string], { perm: [2, 0, 1, 3] }), reshape]);
    const w1 = data(raw, `gru/${task}/fc_1/kernel`);
    const b1 = data(raw, `gru/${task}/fc_1/bias`);
    g.op('Add', [g.one('MatMul', [g.one('Relu', [yb]), g.weight(`gru/${task}/fc_1/kernel`, w1.values, w1.shape)]), g.weight(`gru/${task}/fc_1/bias`, b1.values, b1.shape)], {}, [`logits_${task}`]);
    g.output(`logits_${task}`, ['batch', 'time', TASK_OUTPUTS[task]]);
  }
  return g.encode({ part: 'gru', architecture: model.arch, hidden: String(hidden) });
}

