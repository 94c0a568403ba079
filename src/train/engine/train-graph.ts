/**
 * A seed CNN's training step (backbone + the three heads, PyTorch `train()` semantics) as two
 * ONNX graphs, so ONNX Runtime's threaded MLAS kernels run it instead of TF.js:
 * - forward: the step's task batches of faces stacked, [branches·B, 112, 112, 3], and every
 *   parameter (the model directory's layouts, but convolution kernels OIHW) → per task logits,
 *   every BatchNorm's batch mean and biased variance per task batch (the caller updates the
 *   running statistics), and the activations the backward needs (`saved`);
 * - backward: the saved activations, the parameters it needs and ∂L/∂logits per task → ∂L/∂p
 *   for every parameter summed over the task batches, named `grad:<parameter>` and laid out like
 *   the parameter.
 *
 * The reverse mode is written by hand per layer (ONNX Runtime's CPU build has no gradient
 * graphs): each forward layer records a closure that emits its backward nodes; they run in
 * reverse order, and a tensor read by several layers (a residual input, the backbone feature
 * read by three heads) gets the sum of their gradients. Shapes are static (one pair of graphs per
 * batch size), which lets every size be computed here. The math is PyTorch's: BN normalises with
 * the biased batch variance, eps 1e-5; its backward is the usual closed form
 *   dy = γ·rstd · (dout − mean(dout) − x̂ · mean(dout·x̂)).
 */
import { BN_EPSILON, INPUT_SIZE, TASKS, TASK_OUTPUTS } from '../../models/seed/constants.js';
import { compactBlocks, type CompactDims } from '../../models/seed/compact-layers.js';
import { resnet50Blocks, type ResNet50Dims } from '../../models/seed/resnet50-layers.js';
import type { SeedDims } from '../../models/seed/architecture.js';
import { GraphBuilder } from '../../models/onnx/graph-builder.js';
import { DataType } from '../../models/onnx/onnx-proto.js';

export interface TrainGraphs {
  readonly forward: Uint8Array;
  readonly backward: Uint8Array;
  /** Parameters the forward graph takes, with their shapes (model-directory layouts, kernels OIHW). */
  readonly params: ReadonlyMap<string, readonly number[]>;
  /** Parameters the backward graph takes as well. */
  readonly backwardParams: readonly string[];
  /**
   * Backward inputs derived from a kernel: name → the OIHW kernel parameter it is made from and
   * its own shape [I, O, k, k] (both spatial axes reversed) (a stride-1 convolution's input gradient is a
   * plain convolution of the output gradient with it, faster than ConvTranspose).
   */
  readonly flipped: ReadonlyMap<string, { readonly kernel: string; readonly shape: readonly number[] }>;
  /** What the backward reads of the forward: activations it returns, or inputs of its own (the faces, dropout masks). */
  readonly saved: readonly string[];
  /** BatchNorm scopes whose batch statistics the forward returns per task batch (`statName`/mean|var, [branches, C]). */
  readonly batchNorms: readonly string[];
  /** Values each BatchNorm's statistics are taken over (B·H·W or B), for the unbiased variance. */
  readonly bnCounts: ReadonlyMap<string, number>;
  /** ResNet-50 convolutions followed by dropout, with the mask shape (all rows): the forward takes `maskName(conv)` (0 or 1/(1−p)). */
  readonly dropout: ReadonlyMap<string, readonly number[]>;
  readonly batch: number;
  /** Task batches per call (see buildTrainGraphs). */
  readonly branches: number;
}

/** An activation as the builder tracks it: its ONNX name and static NCHW (or [B, F]) shape. */
interface T {
  readonly name: string;
  readonly shape: readonly number[];
  /** A forward input holding the same values NHWC (the faces): the backward reads that instead of a saved copy. */
  readonly nhwc?: string;
  /** 'cnhw': batch and channel axes swapped, shape [C, B, H, W] (see TrainGraphWriter.tallConv). */
  readonly layout?: Layout;
}

type Layout = 'nchw' | 'cnhw';
const layoutOf = (x: T): Layout => x.layout ?? 'nchw';
const channelsOf = (x: T): number => x.shape[layoutOf(x) === 'cnhw' ? 0 : 1] as number;
const SWAP = [1, 0, 2, 3];
/** A layer's output shaped and laid out like its input (not the input's NHWC source: that is the faces' alone). */
const like = (x: T, name: string): T => (x.layout === undefined ? { name, shape: x.shape } : { name, shape: x.shape, layout: x.layout });

/** A convolution's input (or output gradient) as the backward reads it, in either layout. */
type InLayout = (layout: Layout) => string;

class TrainTape {
  readonly f = new GraphBuilder('seed-cnn-train-forward');
  readonly b = new GraphBuilder('seed-cnn-train-backward', 'b_');
  readonly params = new Map<string, readonly number[]>();
  readonly backwardParams = new Set<string>();
  readonly flipped = new Map<string, { readonly kernel: string; readonly shape: readonly number[] }>();
  readonly saved = new Set<string>();
  readonly batchNorms: string[] = [];
  readonly bnCounts = new Map<string, number>();
  readonly dropout = new Map<string, readonly number[]>();
  private readonly backward: (() => void)[] = [];
  private readonly onehots = new Set<string>();
  private readonly grads = new Map<string, string[]>();
  /** Forward tensors whose gradient nobody needs (the input image). */
  private readonly constant = new Set<string>();
  private n = 0;

  private readonly gradOutputs = new Set<string>();

  constructor(
    readonly batch: number,
    readonly branches: number,
  ) {}

  /** Rows of every activation: the task batches stacked. */
  get rows(): number {
    return this.batch * this.branches;
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  param(name: string, shape: readonly number[]): string {
    if (!this.params.has(name)) {
      this.params.set(name, shape);
      this.f.input(name, shape);
    }
    return name;
  }

  /** The parameter as a backward-graph input. */
  bparam(name: string): string {
    if (!this.backwardParams.has(name)) {
      this.backwardParams.add(name);
      this.b.input(name, this.params.get(name) ?? []);
    }
    return name;
  }

  /** The kernel's flipped, transposed copy as a backward input (see TrainGraphs.flipped). */
  bflipped(kernel: string): string {
    const name = `${kernel}@flipped`;
    if (!this.flipped.has(name)) {
      const [o, i, kh, kw] = this.params.get(kernel) ?? [];
      const shape = [i ?? 0, o ?? 0, kh ?? 0, kw ?? 0];
      this.flipped.set(name, { kernel, shape });
      this.b.input(name, shape);
    }
    return name;
  }

  /** A forward tensor the backward reads: a forward output and a backward input of one name. */
  save(name: string, elemType: number = DataType.FLOAT): string {
    if (!this.saved.has(name)) this.f.tap(name, elemType);
    return this.saveInput(name, elemType);
  }

  /** A forward-graph input the backward reads too (the dropout masks). */
  saveInput(name: string, elemType: number = DataType.FLOAT): string {
    if (!this.saved.has(name)) {
      this.saved.add(name);
      this.b.inputAny(name, elemType);
    }
    return name;
  }

  /** [k·k, 1, k, k] one-hot kernels (output channel q picks offset q), one initializer per k. */
  onehot(k: number): string {
    const name = `onehot_${k}x${k}`;
    if (!this.onehots.has(name)) {
      this.onehots.add(name);
      const kk = k * k;
      const data = new Float32Array(kk * kk);
      for (let q = 0; q < kk; q++) data[q * kk + q] = 1;
      this.b.weight(name, data, [kk, 1, k, k]);
    }
    return name;
  }

  fconst(v: number): string {
    return this.f.weight(this.fresh('fc'), new Float32Array([v]), []);
  }

  bconst(v: number): string {
    return this.b.weight(this.fresh('bc'), new Float32Array([v]), []);
  }

  bints(values: readonly number[]): string {
    return this.b.ints(this.fresh('bi'), values);
  }

  fints(values: readonly number[]): string {
    return this.f.ints(this.fresh('fi'), values);
  }

  markConstant(name: string): void {
    this.constant.add(name);
  }

  needsGrad(name: string): boolean {
    return !this.constant.has(name);
  }

  onBackward(f: () => void): void {
    this.backward.push(f);
  }

  addGrad(forwardName: string, gradName: string): void {
    if (!this.needsGrad(forwardName)) return;
    const list = this.grads.get(forwardName) ?? [];
    list.push(gradName);
    this.grads.set(forwardName, list);
  }

  /** The total gradient of a forward tensor, in the backward graph; undefined when nothing reached it. */
  gradOf(forwardName: string): string | undefined {
    const list = this.grads.get(forwardName);
    if (list === undefined || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const sum = this.b.one('Sum', list);
    this.grads.set(forwardName, [sum]);
    return sum;
  }

  /** A parameter's gradient as the backward's output `grad:<param>` (every parameter is used once). */
  paramGrad(param: string, grad: string): void {
    const name = `grad:${param}`;
    if (this.gradOutputs.has(name)) throw new Error(`${param} is used by two layers; its gradient would need a sum`);
    this.gradOutputs.add(name);
    this.b.op('Identity', [grad], {}, [name]);
    this.b.output(name, this.params.get(param) ?? []);
  }

  runBackward(): void {
    for (const step of [...this.backward].reverse()) step();
  }
}

interface ConvSpec {
  readonly stride: number;
  readonly pad: number;
  readonly relu: boolean;
}

class TrainGraphWriter {
  private readonly swaps = new Map<string, T>();

  /** `cnhw`: whether convolutions may use the tall form (tallConv) and leave their output CNHW. */
  constructor(
    readonly t: TrainTape,
    private readonly cnhw: boolean,
  ) {}

  /** The activation in `layout`: itself, or one Transpose (and its backward) shared by every reader. */
  private inLayout(x: T, layout: Layout): T {
    if (layoutOf(x) === layout) return x;
    const known = this.swaps.get(x.name);
    if (known !== undefined) return known;
    const { f, b } = this.t;
    const y = f.one('Transpose', [x.name], { perm: SWAP });
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy !== undefined) this.t.addGrad(x.name, b.one('Transpose', [dy], { perm: SWAP }));
    });
    const [a, c, h, w] = x.shape as [number, number, number, number];
    const out: T = { name: y, shape: [c, a, h, w], layout };
    this.swaps.set(x.name, out);
    return out;
  }

  /**
   * A 3×3, stride-1, pad-1 convolution of a CNHW tensor [C, B, H, W] → [O, B, H, W], as ONE
   * image: the B images stacked into a column with a zero row between neighbours (each output
   * row then sees only its own image, or zeros where the padding would be). MLAS runs a
   * convolution image by image, so on small maps (7×7, 4×4) its GEMMs are too small to be
   * fast; the tall image makes one wide GEMM (measured 4.9 → 3.2 ms at 64 channels 7×7,
   * 31 → 23 ms at 256, 60 faces; slower on 14×14 and larger maps, and at 512 channels).
   */
  private tallConv(g: GraphBuilder, ints: (v: readonly number[]) => string, x: string, kernel: string, inC: number, outC: number, h: number, w: number): string {
    const rows = this.t.rows;
    const gapped = g.one('Pad', [x, ints([0, 0, 0, 0, 0, 0, 1, 0])]);
    const tall = g.one('Reshape', [gapped, ints([1, inC, rows * (h + 1), w])]);
    const y = g.one('Conv', [tall, kernel], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    return g.one('Slice', [g.one('Reshape', [y, ints([outC, rows, h + 1, w])]), ints([0]), ints([h]), ints([2])]);
  }

  /**
   * dW (OIHW) of a convolution from its input and its output gradient, in one of three forms by
   * shape:
   * - few input and output channels (the stem of a narrow net): batch and channels swapped, dW
   *   is a convolution of the input with the output gradient as kernel, dilated by the stride
   *   (MLAS runs it as C GEMMs of k·k columns: measured 53 → 28 ms at 3 → 16 channels, 43 → 37 ms
   *   at 3 → 32, no gain at 3 → 64, 2–5× slower than the others on the early layers of any width);
   * - large outputs (OH·OW ≥ O: the stem, layer1, layer2): the patches are a convolution of
   *   each input channel with k·k one-hot kernels, [B, C·k·k, OH·OW] per image without any
   *   transpose; dW = Σ_b dy_b · patches_bᵀ (a batched MatMul, then a sum over the batch);
   * - small outputs (deep layers, where that per-image product would dwarf the patches): batch
   *   and channels swapped, padded, the k·k strided views stacked per channel into
   *   [C·k·k, B·OH·OW], and one GEMM with the swapped output gradient [O, B·OH·OW].
   */
  private kernelGrad(input: InLayout, dyIn: InLayout, c: { inC: number; outC: number; k: number; stride: number; pad: number; h: number; w: number; oh: number; ow: number }): string {
    const { b } = this.t;
    const { inC, outC, k, stride, pad, h, w, oh, ow } = c;
    const batch = this.t.rows;
    const kk = k * k;
    const endH = stride * (oh - 1) + k - h - pad;
    const endW = stride * (ow - 1) + k - w - pad;
    if (inC <= 4 && outC <= 32 && k > 1 && endH >= 0 && endW >= 0) {
      const g = b.one('Conv', [input('cnhw'), dyIn('cnhw')], { kernel_shape: [oh, ow], dilations: [stride, stride], pads: [pad, pad, endH, endW] });
      return b.one('Transpose', [g], { perm: [1, 0, 2, 3] });
    }
    if (oh * ow >= outC) {
      const xs = input('nchw');
      let patches: string;
      if (k === 1 && stride === 1 && pad === 0) {
        patches = b.one('Reshape', [xs, this.t.bints([batch, inC, h * w])]);
      } else {
        const kernel = this.t.onehot(k);
        const perChannel = b.one('Reshape', [xs, this.t.bints([batch * inC, 1, h, w])]);
        const cols = b.one('Conv', [perChannel, kernel], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
        patches = b.one('Reshape', [cols, this.t.bints([batch, inC * kk, oh * ow])]);
      }
      const dyB = b.one('Reshape', [dyIn('nchw'), this.t.bints([batch, outC, oh * ow])]);
      const perImage = b.one('MatMul', [dyB, b.one('Transpose', [patches], { perm: [0, 2, 1] })]);
      return b.one('Reshape', [b.one('ReduceSum', [perImage, this.t.bints([0])], { keepdims: 0 }), this.t.bints([outC, inC, k, k])]);
    }
    const xT = input('cnhw');
    const dyT = b.one('Reshape', [dyIn('cnhw'), this.t.bints([outC, -1])]);
    let cols: string;
    if (k === 1 && stride === 1 && pad === 0) {
      cols = b.one('Reshape', [xT, this.t.bints([inC, -1])]);
    } else {
      const xp = pad > 0 ? b.one('Pad', [xT, this.t.bints([0, 0, pad, pad, 0, 0, pad, pad])]) : xT;
      const views: string[] = [];
      const axes = this.t.bints([2, 3]);
      const steps = this.t.bints([stride, stride]);
      const one = this.t.bints([1]);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const view = b.one('Slice', [xp, this.t.bints([i, j]), this.t.bints([i + stride * (oh - 1) + 1, j + stride * (ow - 1) + 1]), axes, steps]);
          views.push(b.one('Unsqueeze', [view, one]));
        }
      }
      cols = b.one('Reshape', [views.length === 1 ? (views[0] as string) : b.one('Concat', views, { axis: 1 }), this.t.bints([inC * kk, -1])]);
    }
    return b.one('Reshape', [b.one('Gemm', [dyT, cols], { transB: 1 }), this.t.bints([outC, inC, k, k])]);
  }

  /**
   * How the backward reads a convolution's input: the faces straight from the forward's input
   * (transposed there: no copy of them comes out of the forward), anything else saved.
   */
  private convInput(x: T): InLayout {
    const { b } = this.t;
    if (x.nhwc !== undefined) {
      const nhwc = x.nhwc;
      return (layout) => b.one('Transpose', [this.t.saveInput(nhwc)], { perm: layout === 'nchw' ? [0, 3, 1, 2] : [3, 0, 1, 2] });
    }
    // Saved now, while the forward is built: relu() checks, when its backward is written,
    // whether a later layer kept its output.
    return this.inBackward(this.t.save(x.name), layoutOf(x));
  }

  /** A backward tensor held in `held`, in either layout on demand (one Transpose, made once). */
  private inBackward(name: string, held: Layout): InLayout {
    let other: string | undefined;
    return (layout) => {
      if (layout === held) return name;
      other ??= this.t.b.one('Transpose', [name], { perm: SWAP });
      return other;
    };
  }

  /**
   * Conv (no bias); its kernel parameter is OIHW (the caller transposes the model directory's
   * HWIO). Output NCHW, or CNHW where the tall form runs (see tallConv).
   */
  conv(input: T, conv: string, inC: number, outC: number, k: number, stride: number, pad: number): T {
    const { f, b } = this.t;
    // OIHW, as ONNX takes it: the caller transposes the model directory's HWIO once per step
    // (ONNX Runtime's Transpose of a weight is slower than the convolution it feeds).
    const wt = this.t.param(`${conv}/kernel`, [outC, inC, k, k]);
    const [, , h, w] = input.shape as [number, number, number, number];
    const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
    const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
    const tall = this.cnhw && k === 3 && stride === 1 && pad === 1 && h * w <= 49 && inC <= 256 && outC <= 256;
    const x = this.inLayout(input, tall ? 'cnhw' : 'nchw');
    const fints = (v: readonly number[]): string => this.t.fints(v);
    const bints = (v: readonly number[]): string => this.t.bints(v);
    const y = tall ? this.tallConv(f, fints, x.name, wt, inC, outC, h, w) : f.one('Conv', [x.name, wt], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
    const out: T = tall ? { name: y, shape: [outC, this.t.rows, oh, ow], layout: 'cnhw' } : { name: y, shape: [this.t.rows, outC, oh, ow] };
    const needDx = this.t.needsGrad(x.name);
    const xIn = this.convInput(x);
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      const dyIn = this.inBackward(dy, layoutOf(out));
      this.t.paramGrad(wt, this.kernelGrad(xIn, dyIn, { inC, outC, k, stride, pad, h, w, oh, ow }));
      if (!needDx) return;
      let dx: string;
      if (tall) {
        dx = this.tallConv(b, bints, dy, this.t.bflipped(wt), outC, inC, h, w);
      } else if (stride === 1) {
        dx = b.one('Conv', [dy, this.t.bflipped(wt)], { kernel_shape: [k, k], pads: Array(4).fill(k - 1 - pad) });
      } else {
        const opH = h - (stride * (oh - 1) + k - 2 * pad);
        const opW = w - (stride * (ow - 1) + k - 2 * pad);
        dx = b.one('ConvTranspose', [dy, this.t.bparam(wt)], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], output_padding: [opH, opW] });
      }
      this.t.addGrad(x.name, dx);
    });
    return out;
  }

  /**
   * Training-mode BatchNorm over every axis but channels (axis 1), on each task batch's rows
   * separately: the activation is viewed as [branches, B, C, H·W] (or [branches, B, C]) and the
   * statistics are reduced over B and H·W, so every task batch is normalised by its own, as if it
   * ran alone.
   */
  batchNorm(x: T, bn: string): T {
    const { f, b } = this.t;
    const cnhw = layoutOf(x) === 'cnhw';
    const c = channelsOf(x);
    const spatial = x.shape.length === 4 ? (x.shape[2] as number) * (x.shape[3] as number) : 1;
    const { branches, batch } = this.t;
    const view = cnhw ? [c, branches, batch, spatial] : x.shape.length === 4 ? [branches, batch, c, spatial] : [branches, batch, c];
    const axes = cnhw ? [2, 3] : x.shape.length === 4 ? [1, 3] : [1];
    const pshape = cnhw ? [c, 1, 1, 1] : x.shape.length === 4 ? [1, 1, c, 1] : [1, 1, c];
    const count = this.t.batch * spatial;
    const gamma = this.t.param(`${bn}/gamma`, [c]);
    const beta = this.t.param(`${bn}/beta`, [c]);
    this.t.batchNorms.push(bn);
    this.t.bnCounts.set(bn, count);
    const v = f.one('Reshape', [x.name, this.t.fints(view)]);
    const mean = f.one('ReduceMean', [v], { axes, keepdims: 1 });
    const xc = f.one('Sub', [v, mean]);
    const variance = f.one('Mul', [f.one('ReduceSumSquare', [xc], { axes, keepdims: 1 }), this.t.fconst(1 / count)]);
    const rstd = f.one('Reciprocal', [f.one('Sqrt', [f.one('Add', [variance, this.t.fconst(BN_EPSILON)])])]);
    const pShape = this.t.fints(pshape);
    const scale = f.one('Mul', [f.one('Reshape', [gamma, pShape]), rstd]);
    const yv = f.one('Add', [f.one('Mul', [xc, scale]), f.one('Reshape', [beta, pShape])]);
    const y = f.one('Reshape', [yv, this.t.fints(x.shape)]);
    const perBranch = (stat: string, name: string): void => {
      if (cnhw) f.op('Transpose', [f.one('Reshape', [stat, this.t.fints([c, branches])])], { perm: [1, 0] }, [name]);
      else f.op('Reshape', [stat, this.t.fints([branches, c])], {}, [name]);
    };
    perBranch(mean, `${statName(bn)}/mean`);
    perBranch(variance, `${statName(bn)}/var`);
    f.output(`${statName(bn)}/mean`, [this.t.branches, c]);
    f.output(`${statName(bn)}/var`, [this.t.branches, c]);
    const xs = this.t.save(xc);
    const rs = this.t.save(rstd);
    this.t.onBackward(() => {
      const dout = this.t.gradOf(y);
      if (dout === undefined) return;
      const dv = b.one('Reshape', [dout, this.t.bints(view)]);
      const ax = this.t.bints(axes);
      const dbeta = b.one('ReduceSum', [dv, ax], { keepdims: 1 });
      // Σ dout·x̂ = rstd · Σ dout·(x − mean), per task batch
      const dgamma = b.one('Mul', [b.one('ReduceSum', [b.one('Mul', [dv, xs]), ax], { keepdims: 1 }), rs]);
      // The parameters' gradients: summed over the task batches too.
      const all = this.t.bints(cnhw ? [1, 2, 3] : x.shape.length === 4 ? [0, 1, 3] : [0, 1]);
      this.t.paramGrad(beta, b.one('ReduceSum', [dbeta, all], { keepdims: 0 }));
      this.t.paramGrad(gamma, b.one('ReduceSum', [dgamma, all], { keepdims: 0 }));
      if (!this.t.needsGrad(x.name)) return;
      const inv = this.t.bconst(1 / count);
      const g = b.one('Mul', [b.one('Reshape', [this.t.bparam(gamma), this.t.bints(pshape)]), rs]);
      // dx = γ·rstd · (dout − Σdout/n − x̂ · Σ(dout·x̂)/n), with x̂ = (x − mean)·rstd.
      const perCentred = b.one('Mul', [b.one('Mul', [dgamma, rs]), inv]);
      const centred = b.one('Sub', [b.one('Sub', [dv, b.one('Mul', [dbeta, inv])]), b.one('Mul', [xs, perCentred])]);
      this.t.addGrad(x.name, b.one('Reshape', [b.one('Mul', [g, centred]), this.t.bints(x.shape)]));
    });
    return like(x, y);
  }

  relu(x: T): T {
    const { f, b } = this.t;
    const y = f.one('Relu', [x.name]);
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      // The derivative is [y > 0]: Greater and Cast run 2–3× faster than Sign here. Where no
      // later layer keeps y (the stem's, read by max-pool), the forward returns the mask alone,
      // a quarter of the bytes.
      const positive = this.t.saved.has(y) ? b.one('Greater', [this.t.save(y), this.t.bconst(0)]) : this.t.save(f.one('Greater', [y, this.t.fconst(0)]), DataType.BOOL);
      this.t.addGrad(x.name, b.one('Mul', [dy, b.one('Cast', [positive], { to: DataType.FLOAT })]));
    });
    return like(x, y);
  }

  add(a: T, other: T): T {
    const c = this.inLayout(other, layoutOf(a));
    const y = this.t.f.one('Add', [a.name, c.name]);
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      this.t.addGrad(a.name, dy);
      this.t.addGrad(c.name, dy);
    });
    return like(a, y);
  }

  /** Multiplies by a mask the caller draws (dropout: 0 or 1/(1−p) per element), NCHW. */
  dropout(input: T, conv: string): T {
    const x = this.inLayout(input, 'nchw');
    const mask = maskName(conv);
    this.t.dropout.set(conv, x.shape);
    this.t.f.input(mask, x.shape);
    const y = this.t.f.one('Mul', [x.name, mask]);
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      this.t.addGrad(x.name, this.t.b.one('Mul', [dy, this.t.saveInput(mask)]));
    });
    return { name: y, shape: x.shape };
  }

  /** PyTorch MaxPool2d (pads count as −∞; ceil mode's overhang as extra end padding). */
  maxPool(input: T, kernel: number, stride: number, pad: number, ceilMode: boolean): T {
    const { f, b } = this.t;
    const x = this.inLayout(input, 'nchw');
    const [bn, c, h, w] = x.shape as [number, number, number, number];
    const size = (s: number): { out: number; extra: number } => {
      const span = s + 2 * pad - kernel;
      let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
      if (ceilMode && (out - 1) * stride >= s + pad) out -= 1;
      return { out, extra: Math.max(0, (out - 1) * stride + kernel - (s + 2 * pad)) };
    };
    const sh = size(h);
    const sw = size(w);
    const [y, idx] = f.op('MaxPool', [x.name], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad + sh.extra, pad + sw.extra] }, 2) as [string, string];
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      // Indices are flat over the whole NCHW input; overlapping windows add.
      const zeros = b.one('ConstantOfShape', [this.t.bints([bn * c * h * w])]);
      const flat = this.t.bints([-1]);
      const scattered = b.one('ScatterElements', [zeros, b.one('Reshape', [this.t.save(idx, DataType.INT64), flat]), b.one('Reshape', [dy, flat])], { axis: 0, reduction: 'add' });
      this.t.addGrad(x.name, b.one('Reshape', [scattered, this.t.bints([bn, c, h, w])]));
    });
    return { name: y, shape: [bn, c, sh.out, sw.out] };
  }

  /** Mean over H and W → [B, C]. */
  globalMean(input: T): T {
    const x = this.inLayout(input, 'nchw');
    const [bn, c, h, w] = x.shape as [number, number, number, number];
    const y = this.t.f.one('ReduceMean', [x.name], { axes: [2, 3], keepdims: 0 });
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      const { b } = this.t;
      const scaled = b.one('Mul', [b.one('Reshape', [dy, this.t.bints([bn, c, 1, 1])]), this.t.bconst(1 / (h * w))]);
      this.t.addGrad(x.name, b.one('Expand', [scaled, this.t.bints([bn, c, h, w])]));
    });
    return { name: y, shape: [bn, c] };
  }

  /** x [B, in] · kernel [in, out] + bias. */
  linear(x: T, scope: string, out: number): T {
    const { f, b } = this.t;
    const inF = x.shape[1] as number;
    const kernel = this.t.param(`${scope}/kernel`, [inF, out]);
    const bias = this.t.param(`${scope}/bias`, [out]);
    const y = f.one('Gemm', [x.name, kernel, bias]);
    const xs = this.t.save(x.name);
    this.t.onBackward(() => {
      const dy = this.t.gradOf(y);
      if (dy === undefined) return;
      this.t.paramGrad(kernel, b.one('Gemm', [xs, dy], { transA: 1 }));
      this.t.paramGrad(bias, b.one('ReduceSum', [dy, this.t.bints([0])], { keepdims: 0 }));
      if (this.t.needsGrad(x.name)) this.t.addGrad(x.name, b.one('Gemm', [dy, this.t.bparam(kernel)], { transB: 1 }));
    });
    return { name: y, shape: [x.shape[0] as number, out] };
  }

  convBn(x: T, conv: string, bn: string, inC: number, outC: number, k: number, s: ConvSpec, dropout = false): T {
    let y = this.conv(x, conv, inC, outC, k, s.stride, s.pad);
    if (dropout) y = this.dropout(y, conv);
    y = this.batchNorm(y, bn);
    return s.relu ? this.relu(y) : y;
  }
}

const S = 'backbone/';
const DROPOUT_CONVS = new Set(['backbone/conv5_3_3x3', 'backbone/conv5_3_1x1_increase']);

function compactBackbone(g: TrainGraphWriter, x: T, dims: CompactDims): T {
  let h = g.convBn(x, `${S}conv1`, `${S}bn1`, 3, dims.stem, 7, { stride: 2, pad: 3, relu: true });
  h = g.maxPool(h, 3, 2, 1, false);
  for (const blk of compactBlocks(dims)) {
    const n = `${S}${blk.name}`;
    const shortcut = blk.downsample ? g.convBn(h, `${n}.downsample.0`, `${n}.downsample.1`, blk.inC, blk.out, 1, { stride: blk.stride, pad: 0, relu: false }) : h;
    let y = g.convBn(h, `${n}.conv1`, `${n}.bn1`, blk.inC, blk.out, 3, { stride: blk.stride, pad: 1, relu: true });
    y = g.convBn(y, `${n}.conv2`, `${n}.bn2`, blk.out, blk.out, 3, { stride: 1, pad: 1, relu: false });
    h = g.relu(g.add(y, shortcut));
  }
  return g.globalMean(h);
}

function resnet50Backbone(g: TrainGraphWriter, x: T, dims: ResNet50Dims): T {
  let h = g.convBn(x, `${S}conv1_7x7_s2`, `${S}conv1_7x7_s2_bn`, 3, dims.stem, 7, { stride: 2, pad: 3, relu: true });
  h = g.maxPool(h, 3, 2, 0, true);
  for (const blk of resnet50Blocks(dims)) {
    const n = `${S}${blk.name}`;
    const cb = (y: T, c: string, outC: number, k: number, s: ConvSpec): T => g.convBn(y, `${n}_${c}`, `${n}_${c}_bn`, channelsOf(y), outC, k, s, DROPOUT_CONVS.has(`${n}_${c}`));
    const shortcut = blk.proj ? cb(h, '1x1_proj', blk.out, 1, { stride: blk.stride, pad: 0, relu: false }) : h;
    let y = cb(h, '1x1_reduce', blk.mid, 1, { stride: blk.stride, pad: 0, relu: true });
    y = cb(y, '3x3', blk.mid, 3, { stride: 1, pad: 1, relu: true });
    y = cb(y, '1x1_increase', blk.out, 1, { stride: 1, pad: 0, relu: false });
    h = g.relu(g.add(y, shortcut));
  }
  return g.globalMean(h);
}

/** Graph I/O names (task batches stacked along the rows: rows i·B … (i+1)·B − 1 are task batch i). */
export const INPUT = 'x';
export const logitsName = (task: string): string => `logits:${task}`;
export const dlogitsName = (task: string): string => `dlogits:${task}`;
/** `${statName(bn)}/mean|var`: [branches, C]. */
export const statName = (bn: string): string => `stat:${bn}`;
export const maskName = (conv: string): string => `mask:${conv}`;

/**
 * The forward/backward pair for one architecture at one batch size, over `branches` task batches
 * at once (the seed's step: one batch per task, each through the whole model with its own
 * BatchNorm statistics). The task batches are stacked along the rows of one network — every
 * layer but BatchNorm treats rows independently, and BatchNorm reduces each task batch's rows
 * alone — so each operator runs once per step on `branches`× the rows (a third of the operator
 * launches, wider GEMMs), and the parameters' gradients come out summed over the task batches.
 */
export function buildTrainGraphs(dims: SeedDims, batch: number, branches = 1): TrainGraphs {
  const tape = new TrainTape(batch, branches);
  // The tall convolutions are the compact's (ResNet-50's 3×3 convolutions on small maps sit
  // between 1×1 ones and its dropout, which would each turn the layout back).
  const g = new TrainGraphWriter(tape, dims.backbone.arch === 'compact');
  const rows = tape.rows;
  const input = tape.f.input(INPUT, [rows, INPUT_SIZE, INPUT_SIZE, 3]);
  const x: T = { name: tape.f.one('Transpose', [input], { perm: [0, 3, 1, 2] }), shape: [rows, 3, INPUT_SIZE, INPUT_SIZE], nhwc: input };
  tape.markConstant(x.name);
  const bb = dims.backbone;
  const f = bb.arch === 'compact' ? compactBackbone(g, x, bb.dims) : resnet50Backbone(g, x, bb.dims);
  for (const task of TASKS) {
    const s = `heads/${task}`;
    const hid = g.relu(g.linear(g.batchNorm(f, `${s}/bn0`), `${s}/fc_0`, dims.hidden));
    const logits = g.linear(g.batchNorm(hid, `${s}/bn1`), `${s}/fc_1`, TASK_OUTPUTS[task]);
    tape.f.op('Identity', [logits.name], {}, [logitsName(task)]);
    tape.f.output(logitsName(task), logits.shape);
    tape.addGrad(logits.name, tape.b.input(dlogitsName(task), logits.shape));
  }
  tape.runBackward();
  return {
    forward: tape.f.encode(),
    backward: tape.b.encode(),
    params: tape.params,
    backwardParams: [...tape.backwardParams],
    flipped: tape.flipped,
    saved: [...tape.saved],
    batchNorms: tape.batchNorms,
    bnCounts: tape.bnCounts,
    dropout: tape.dropout,
    batch,
    branches,
  };
}
