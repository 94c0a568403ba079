/**
 * A TrainableNet's CNN trained on ONNX Runtime (train/engine/train-session.ts) instead of TF.js's
 * tape: per step one forward on ONNX Runtime over the task batches stacked, each task batch's
 * loss and its gradient with respect to the logits in TF.js (the same loss code as the tape path,
 * on [B, n] tensors), one backward on ONNX Runtime that returns the gradients summed.
 *
 * Two ways to use it:
 * - `summedGrads`: the gradients as TF.js tensors keyed by variable name, for TF.js's Adam (reads
 *   the net's parameters each call; BN running statistics updated in the net);
 * - `load` → `train` … → `store`: the parameters, BN running statistics and Adam's moments stay
 *   in plain arrays in ONNX Runtime's layouts between `load` and `store` and `train` applies the
 *   update itself (`FlatAdam`, the same formula): per step this saves reading every parameter out
 *   of TF.js, transposing kernels both ways, and TF.js's Adam (≈ 15 % of a step at width 1).
 *   `store` writes everything back (before a checkpoint, a validation, the end of a phase).
 * BN running statistics follow PyTorch either way (momentum 0.1, unbiased variance).
 */
import { tf, type NamedTensorMap, type Tensor2D, type Tensor4D } from '../../models/tf.js';
import { TASKS, TASK_OUTPUTS, type TaskName } from '../../models/seed/constants.js';
import { flipKernel, OrtTrainStep, type BatchStats, type TrainForwardResult } from './train-session.js';
import { FlatAdam, type Adam, type AdamOptions, type AdamState } from '../adam.js';
import type { Logits3 } from '../losses.js';
import { BN_MOMENTUM, type TrainableNet } from '../nets/trainable-net.js';
import { TrainError } from '../errors.js';
import { disposeAbandonedTape } from './gradients.js';

const DROPOUT_RATE = 0.5;
let uid = 0;

/**
 * A kernel of HWIO shape [k, k, I, O] between the model directory's HWIO and the graph's OIHW
 * [O, I, k, k], either way (`toOihw`); always a new array.
 */
function permuteKernel(src: Float32Array, [k1, k2, i, o]: readonly number[], toOihw: boolean): Float32Array {
  const kk = (k1 ?? 1) * (k2 ?? 1);
  const ci = i ?? 1;
  const co = o ?? 1;
  const out = new Float32Array(src.length);
  for (let s = 0; s < kk; s++) {
    for (let c = 0; c < ci; c++) {
      const hwio = (s * ci + c) * co;
      for (let q = 0; q < co; q++) {
        const oihw = (q * ci + c) * kk + s;
        if (toOihw) out[oihw] = src[hwio + q] as number;
        else out[hwio + q] = src[oihw] as number;
      }
    }
  }
  return out;
}

const isKernel = (name: string): boolean => name.startsWith('backbone/') && name.endsWith('/kernel');

export interface OnnxStepResult {
  /** Variable name → Σ scale·∂L_i/∂p; the caller disposes them. */
  readonly grads: NamedTensorMap;
  /** Σ scale·L_i. */
  readonly loss: number;
}

/** Batch i's faces, its loss from the logits, its dropout seed; see `OnnxCnnStep.summedGrads`. */
export interface StepTerms {
  readonly count: number;
  readonly x: (i: number) => Tensor4D;
  /** Built inside a tape over the logits only; it may `tf.keep` what it wants to read later. */
  readonly term: (i: number, logits: Logits3) => tf.Scalar;
  readonly scale?: number;
  readonly dropoutSeed?: (i: number) => number;
}

interface RunningStats {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

interface LoadedState {
  readonly params: Map<string, Float32Array>;
  readonly stats: Map<string, RunningStats>;
  readonly adam: FlatAdam | undefined;
}

export class OnnxCnnStep {
  private state: LoadedState | undefined;

  private constructor(
    private readonly net: TrainableNet,
    private readonly step: OrtTrainStep,
  ) {}

  /**
   * The ONNX Runtime graphs of `net`'s CNN for steps of `taskBatches` task batches of `batch`
   * faces (ONNX Runtime's threads: 0 = one per core).
   */
  static async create(net: TrainableNet, batch: number, taskBatches = 1, threads = 0): Promise<OnnxCnnStep> {
    const step = await OrtTrainStep.create(net.dims, batch, taskBatches, threads);
    for (const name of step.graphs.params.keys()) {
      if (!net.vars.has(name)) {
        await step.release();
        throw new TrainError(`the ONNX training graph needs ${name}, which the net lacks`);
      }
    }
    return new OnnxCnnStep(net, step);
  }

  get batch(): number {
    return this.step.batch;
  }

  private variable(name: string): tf.Variable {
    const v = this.net.vars.get(name);
    if (v === undefined) throw new TrainError(`parameter ${name} is missing`);
    return v;
  }

  /**
   * A copy of a parameter-shaped array (a value, a gradient, a moment) from the net's layout to
   * the graph's (kernels HWIO → OIHW), and back. Always a copy: the arrays on this side change in
   * place, and some TF.js backends keep the array a tensor is made from.
   */
  private toGraph(name: string, data: Float32Array): Float32Array {
    return isKernel(name) ? permuteKernel(data, this.variable(name).shape, true) : data.slice();
  }

  private toNet(name: string, data: Float32Array): Float32Array {
    return isKernel(name) ? permuteKernel(data, this.variable(name).shape, false) : data.slice();
  }

  /** The net's parameters in the graph's layouts (kernels OIHW). */
  private async readParams(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, shape] of this.step.graphs.params) {
      const v = this.variable(name);
      const data = (await v.data()) as Float32Array;
      if (isKernel(name) && (shape[0] !== v.shape[3] || shape[1] !== v.shape[2])) throw new TrainError(`${name}: shape [${v.shape.join(',')}] does not fit the graph`);
      out.set(name, this.toGraph(name, data));
    }
    return out;
  }

  private async readStats(): Promise<Map<string, RunningStats>> {
    const out = new Map<string, RunningStats>();
    for (const bn of this.step.graphs.batchNorms) {
      out.set(bn, {
        mean: ((await this.variable(`${bn}/moving_mean`).data()) as Float32Array).slice(),
        variance: ((await this.variable(`${bn}/moving_variance`).data()) as Float32Array).slice(),
      });
    }
    return out;
  }

  private withFlipped(params: Map<string, Float32Array>): Map<string, Float32Array> {
    for (const [name, { kernel }] of this.step.graphs.flipped) params.set(name, flipKernel(params.get(kernel) ?? new Float32Array(), this.step.graphs.params.get(kernel) ?? []));
    return params;
  }

  /**
   * The masks tf.dropout draws in the tape path for the same seed (seed·2 + k for the k-th
   * dropout of a pass, uniform over NHWC, keep where u + keep ≥ 1), transposed to NCHW: both
   * engines drop the same units.
   */
  private masks(seed: number): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    let k = 0;
    const keep = 1 - DROPOUT_RATE;
    for (const [conv, [, c, h, w]] of this.step.graphs.dropout) {
      const m = tf.tidy(() => {
        const u = tf.randomUniform([this.batch, h ?? 1, w ?? 1, c ?? 1], 0, 1, 'float32', seed * 2 + k++);
        return tf.transpose(tf.div(tf.floor(tf.add(u, keep)), keep), [0, 3, 1, 2]);
      });
      out.set(conv, m.dataSync() as Float32Array);
      m.dispose();
    }
    return out;
  }

  /** r ← 0.9·r + 0.1·stat, with the unbiased variance (PyTorch). */
  private updateStats(running: Map<string, RunningStats>, batch: BatchStats): void {
    for (const [bn, s] of batch) {
      const r = running.get(bn);
      if (r === undefined) throw new TrainError(`BN ${bn} has no running statistics`);
      const n = this.step.graphs.bnCounts.get(bn) ?? 1;
      const unbias = n > 1 ? n / (n - 1) : 1;
      for (let c = 0; c < r.mean.length; c++) {
        r.mean[c] = (1 - BN_MOMENTUM) * (r.mean[c] as number) + BN_MOMENTUM * (s.mean[c] as number);
        r.variance[c] = (1 - BN_MOMENTUM) * (r.variance[c] as number) + BN_MOMENTUM * (s.variance[c] as number) * unbias;
      }
    }
  }

  private writeStats(stats: Map<string, RunningStats>): void {
    for (const [bn, s] of stats) {
      const rm = this.variable(`${bn}/moving_mean`);
      const rv = this.variable(`${bn}/moving_variance`);
      // Copies: the cpu backend (and tfjs-node until first use) keeps the array it is given,
      // and these arrays change in place at the next step.
      tf.tidy(() => {
        rm.assign(tf.tensor1d(s.mean.slice()));
        rv.assign(tf.tensor1d(s.variance.slice()));
      });
    }
  }

  /**
   * ∂L/∂logits of every task batch's loss (scaled), and Σ of the losses: one tape over all the
   * task batches (the terms are independent, so each batch's logits get its own loss's
   * gradient), which saves TF.js's per-call overhead twice a step.
   */
  private async logitGrads(fwd: TrainForwardResult, t: StepTerms): Promise<{ dlogits: Record<TaskName, Float32Array>[]; loss: number }> {
    // Variables, not tensors: a task's loss reaches only its own head's logits, and
    // variableGrads leaves the others out (their gradient is zero) where grads would throw.
    const logits = fwd.logits.map((out, i) =>
      TASKS.map((task) => {
        const init = tf.tensor2d(out[task], [this.batch, TASK_OUTPUTS[task]]);
        const v = tf.variable(init, true, `onnx-step-logits-${i}-${task}-${uid++}`);
        init.dispose();
        return v;
      }),
    );
    if (logits.length !== t.count) throw new TrainError(`${logits.length} task batches of logits for ${t.count} terms`);
    try {
      let taken: ReturnType<typeof tf.variableGrads>;
      try {
        taken = tf.tidy(() =>
          tf.variableGrads(() => {
            const terms = logits.map(([e, a, v], i) => t.term(i, { EXPR: e as Tensor2D, AU: a as Tensor2D, VA: v as Tensor2D }));
            return tf.mul(terms.length === 1 ? (terms[0] as tf.Scalar) : tf.addN(terms), t.scale ?? 1) as tf.Scalar;
          }, logits.flat()),
        );
      } catch (err) {
        disposeAbandonedTape();
        throw err;
      }
      const { value, grads } = taken;
      try {
        const loss = (await value.data())[0] ?? Number.NaN;
        const dlogits: Record<TaskName, Float32Array>[] = [];
        for (const vars of logits) {
          const d = {} as Record<TaskName, Float32Array>;
          for (const [ti, task] of TASKS.entries()) {
            const g = grads[vars[ti]!.name];
            d[task] = g === undefined ? new Float32Array(this.batch * TASK_OUTPUTS[task]) : ((await g.data()) as Float32Array);
          }
          dlogits.push(d);
        }
        return { dlogits, loss };
      } finally {
        value.dispose();
        tf.dispose(Object.values(grads));
      }
    } finally {
      tf.dispose(logits.flat());
    }
  }

  private async inputs(t: Pick<StepTerms, 'count' | 'x' | 'dropoutSeed'>): Promise<{ xs: Float32Array[]; masks: Map<string, Float32Array>[] }> {
    if (t.count !== this.step.branches) throw new TrainError(`the ONNX training step was built for ${this.step.branches} task batch(es) per step, got ${t.count}`);
    const xs: Float32Array[] = [];
    const masks: Map<string, Float32Array>[] = [];
    for (let i = 0; i < t.count; i++) {
      const xi = t.x(i);
      if (xi.shape[0] !== this.batch) throw new TrainError(`the ONNX training step was built for batches of ${this.batch}, got ${xi.shape[0]}`);
      xs.push((await xi.data()) as Float32Array);
      masks.push(this.masks(t.dropoutSeed?.(i) ?? i));
    }
    return { xs, masks };
  }

  /**
   * Σ_i scale·∇L_i in the graph's layouts, from `params`, all task batches in one forward and one
   * backward call; running statistics updated in `stats`, task batch by task batch.
   */
  private async gradients(t: StepTerms, params: ReadonlyMap<string, Float32Array>, stats: Map<string, RunningStats>): Promise<{ grads: Map<string, Float32Array>; loss: number }> {
    const { xs, masks } = await this.inputs(t);
    const fwd = await this.step.forward(xs, params, masks);
    try {
      for (const s of fwd.stats) this.updateStats(stats, s);
      const { dlogits, loss } = await this.logitGrads(fwd, t);
      return { grads: await this.step.backward(fwd, dlogits, params), loss };
    } finally {
      fwd.saved.clear();
    }
  }

  /**
   * Σ_i scale·∇L_i over `count` task batches as TF.js tensors keyed by variable name, from the
   * net's current parameters; the BN running statistics are updated in the net.
   */
  async summedGrads(count: number, x: (i: number) => Tensor4D, term: (i: number, logits: Logits3) => tf.Scalar, scale = 1, dropoutSeed: (i: number) => number = (i) => i): Promise<OnnxStepResult> {
    if (this.state !== undefined) throw new TrainError('summedGrads() while the state is loaded: store() first');
    const params = this.withFlipped(await this.readParams());
    const stats = await this.readStats();
    const { grads, loss } = await this.gradients({ count, x, term, scale, dropoutSeed }, params, stats);
    this.writeStats(stats);
    const out: NamedTensorMap = {};
    for (const [name, g] of grads) {
      const v = this.variable(name);
      out[v.name] = tf.tensor(this.toNet(name, g), v.shape, 'float32');
    }
    return { grads: out, loss };
  }

  /**
   * A training-mode forward alone of every task batch (running statistics updated, nothing kept
   * for a backward): per task batch, [B, n] logits per task.
   */
  async forward(xs: readonly Tensor4D[], dropoutSeed: (i: number) => number = (i) => i): Promise<Record<TaskName, Float32Array>[]> {
    const params = this.state?.params ?? this.withFlipped(await this.readParams());
    const stats = this.state?.stats ?? (await this.readStats());
    const { xs: data, masks } = await this.inputs({ count: xs.length, x: (i) => xs[i]!, dropoutSeed });
    const fwd = await this.step.forward(data, params, masks);
    fwd.saved.clear();
    for (const s of fwd.stats) this.updateStats(stats, s);
    if (this.state === undefined) this.writeStats(stats);
    return [...fwd.logits];
  }

  /**
   * Takes the net's parameters and running statistics, and Adam's state (as `Adam.state()` gives
   * it, keyed by parameter name), into arrays for `train`.
   */
  async load(adam?: { readonly state: AdamState; readonly options: AdamOptions }): Promise<void> {
    const params = this.withFlipped(await this.readParams());
    const stats = await this.readStats();
    let flat: FlatAdam | undefined;
    if (adam !== undefined) {
      const layout = (src: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> => {
        const out = new Map<string, Float32Array>();
        for (const name of this.step.graphs.params.keys()) {
          const d = src.get(name);
          if (d === undefined) throw new TrainError(`optimizer state lacks ${name}`);
          out.set(name, this.toGraph(name, d));
        }
        return out;
      };
      flat = new FlatAdam(layout(adam.state.m), layout(adam.state.v), adam.state.step, adam.options);
    }
    this.state = { params, stats, adam: flat };
  }

  /**
   * One training step on the loaded state: the summed gradient of the terms, then Adam at `lr`.
   * Returns Σ scale·L_i.
   */
  async train(t: StepTerms, lr: number): Promise<number> {
    const s = this.state;
    if (s?.adam === undefined) throw new TrainError('train() needs load() with an optimizer state');
    const { grads, loss } = await this.gradients(t, s.params, s.stats);
    s.adam.apply(s.params, grads, lr);
    this.withFlipped(s.params);
    return loss;
  }

  /** Writes the loaded parameters, running statistics and Adam state back into the net and `adam`; the state stays loaded. */
  store(adam?: Adam): void {
    const s = this.state;
    if (s === undefined) return;
    for (const name of this.step.graphs.params.keys()) {
      const v = this.variable(name);
      const d = s.params.get(name) ?? new Float32Array();
      tf.tidy(() => v.assign(tf.tensor(this.toNet(name, d), v.shape, 'float32')));
    }
    this.writeStats(s.stats);
    if (adam !== undefined && s.adam !== undefined) {
      const back = (src: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> => {
        const out = new Map<string, Float32Array>();
        for (const [name, d] of src) out.set(name, this.toNet(name, d));
        return out;
      };
      adam.restore({ step: s.adam.step, m: back(s.adam.m), v: back(s.adam.v) });
    }
  }

  async release(): Promise<void> {
    this.state = undefined;
    await this.step.release();
  }
}
