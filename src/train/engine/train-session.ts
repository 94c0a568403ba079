/**
 * Runs the training graphs of train-graph.ts on ONNX Runtime: one forward per step over the
 * stacked task batches (logits, batch statistics, saved activations), then one backward from
 * ∂L/∂logits to every parameter's gradient. The saved activations go from the forward's outputs
 * to the backward's inputs as they are (ONNX Runtime copies them out once; nothing converts them
 * in JavaScript) and are dropped after the backward; the caller computes the losses and their
 * gradient with respect to the logits.
 */
import { INPUT_SIZE, TASKS, TASK_OUTPUTS, type TaskName } from '../../models/seed/constants.js';
import type { SeedDims } from '../../models/seed/architecture.js';
import { buildTrainGraphs, dlogitsName, INPUT, logitsName, maskName, statName, type TrainGraphs } from './train-graph.js';
import { createSession, loadOrt, type Ort, type OrtSession } from '../../models/onnx/ort.js';

type OrtTensor = import('onnxruntime-node').Tensor;

export type BatchStats = ReadonlyMap<string, { readonly mean: Float32Array; readonly variance: Float32Array }>;

export interface TrainForwardResult {
  /** Per task batch, per task [B, n] logits, row-major (views into the stacked output). */
  readonly logits: readonly Readonly<Record<TaskName, Float32Array>>[];
  /** Per task batch, per BatchNorm scope: batch mean and biased variance over the batch (and H, W). */
  readonly stats: readonly BatchStats[];
  /** Opaque: what the backward reads. Released by `backward` or `release`. */
  readonly saved: Map<string, OrtTensor>;
}

/**
 * The daemon's session settings (sequential executor, no spinning: measured here too — the
 * parallel executor was 1.4–2× slower on two cores, and spinning threads slowed the forward's
 * output copies from 102 to 133 ms at width 0.25), at 'extended' optimisation: the NCHWc pass of
 * 'all' reorders every kernel on every run when kernels are inputs rather than constants.
 */
function session(ort: Ort, model: Uint8Array, threads: number): Promise<OrtSession> {
  return createSession(ort, model, { threads, optimization: 'extended' });
}

/** OIHW [O, I, k, k] → [I, O, k, k] with both spatial axes reversed. */
export function flipKernel(src: Float32Array, [o, i, kh, kw]: readonly number[]): Float32Array {
  const co = o ?? 1;
  const ci = i ?? 1;
  const h = kh ?? 1;
  const w = kw ?? 1;
  const out = new Float32Array(src.length);
  for (let a = 0; a < co; a++) {
    for (let c = 0; c < ci; c++) {
      const from = (a * ci + c) * h * w;
      const to = (c * co + a) * h * w;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[to + (h - 1 - y) * w + (w - 1 - x)] = src[from + y * w + x] as number;
    }
  }
  return out;
}

export class OrtTrainStep {
  private closed = false;

  private constructor(
    private readonly ort: Ort,
    readonly graphs: TrainGraphs,
    private readonly fwd: OrtSession,
    private readonly bwd: OrtSession,
  ) {}

  /** Builds and loads the graphs for `dims` at `batch` faces per task batch, `branches` task batches per call. */
  static async create(dims: SeedDims, batch: number, branches = 1, threads = 0): Promise<OrtTrainStep> {
    const ort = await loadOrt();
    const graphs = buildTrainGraphs(dims, batch, branches);
    const fwd = await session(ort, graphs.forward, threads);
    try {
      const bwd = await session(ort, graphs.backward, threads);
      return new OrtTrainStep(ort, graphs, fwd, bwd);
    } catch (err) {
      await fwd.release();
      throw err;
    }
  }

  get batch(): number {
    return this.graphs.batch;
  }

  private tensor(data: Float32Array, shape: readonly number[]): OrtTensor {
    return new this.ort.Tensor('float32', data, shape as number[]);
  }

  get branches(): number {
    return this.graphs.branches;
  }

  /** The task batches' arrays one after the other (rows i·B … of the graph's inputs). */
  private stacked(parts: readonly (Float32Array | undefined)[], what: string): Float32Array {
    const first = parts[0];
    if (parts.length === 1 && first !== undefined) return first;
    const size = first?.length ?? 0;
    const out = new Float32Array(size * parts.length);
    for (const [i, p] of parts.entries()) {
      if (p === undefined || p.length !== size) throw new Error(`training step: ${what} of task batch ${i} is missing or the wrong size`);
      out.set(p, i * size);
    }
    return out;
  }

  /**
   * `xs`: per task batch [B, 112, 112, 3] preprocessed faces; `params`: every parameter of
   * `graphs.params`; `masks`: per task batch the dropout masks of `graphs.dropout` (ResNet-50
   * only, each [B, C, H, W]).
   */
  async forward(xs: readonly Float32Array[], params: ReadonlyMap<string, Float32Array>, masks: readonly ReadonlyMap<string, Float32Array>[] = []): Promise<TrainForwardResult> {
    if (this.closed) throw new Error('OrtTrainStep used after release()');
    if (xs.length !== this.branches) throw new Error(`training step: ${xs.length} task batches for a graph of ${this.branches}`);
    const rows = this.batch * this.branches;
    const feeds: Record<string, OrtTensor> = { [INPUT]: this.tensor(this.stacked(xs, 'faces'), [rows, INPUT_SIZE, INPUT_SIZE, 3]) };
    for (const [name, shape] of this.graphs.params) {
      const v = params.get(name);
      if (v === undefined) throw new Error(`training step: parameter ${name} is missing`);
      feeds[name] = this.tensor(v, shape);
    }
    for (const [conv, shape] of this.graphs.dropout) {
      feeds[maskName(conv)] = this.tensor(this.stacked(Array.from({ length: this.branches }, (_, i) => masks[i]?.get(conv)), `the dropout mask of ${conv}`), shape);
    }
    const out = await this.fwd.run(feeds);
    const take = (name: string): OrtTensor => {
      const t = out[name];
      if (t === undefined) throw new Error(`training forward did not return ${name}`);
      return t;
    };
    const rowsOf = (data: Float32Array, br: number): Float32Array => {
      const per = data.length / this.branches;
      return data.subarray(br * per, (br + 1) * per);
    };
    const logits: Record<TaskName, Float32Array>[] = [];
    const stats: BatchStats[] = [];
    for (let br = 0; br < this.branches; br++) {
      logits.push(Object.fromEntries(TASKS.map((t) => [t, rowsOf(take(logitsName(t)).data as Float32Array, br)])) as Record<TaskName, Float32Array>);
      stats.push(new Map(this.graphs.batchNorms.map((bn) => [bn, { mean: rowsOf(take(`${statName(bn)}/mean`).data as Float32Array, br), variance: rowsOf(take(`${statName(bn)}/var`).data as Float32Array, br) }] as const)));
    }
    const saved = new Map<string, OrtTensor>();
    // A saved forward input (the faces, a dropout mask) is the caller's array itself.
    for (const name of this.graphs.saved) saved.set(name, feeds[name] ?? take(name));
    return { logits, stats, saved };
  }

  /**
   * ∂L/∂p summed over the task batches, for every trainable parameter, from ∂L/∂logits (per task
   * batch, [B, n] per task; zeros where a task has no loss). `params` also holds the flipped kernels of
   * `graphs.flipped` (see `flipKernel`). The forward's saved activations are released.
   */
  async backward(f: TrainForwardResult, dlogits: readonly Readonly<Record<TaskName, Float32Array>>[], params: ReadonlyMap<string, Float32Array>): Promise<Map<string, Float32Array>> {
    if (this.closed) throw new Error('OrtTrainStep used after release()');
    const feeds: Record<string, OrtTensor> = {};
    for (const [name, t] of f.saved) feeds[name] = t;
    try {
      for (const name of this.graphs.backwardParams) {
        const v = params.get(name);
        if (v === undefined) throw new Error(`training step: parameter ${name} is missing`);
        feeds[name] = this.tensor(v, this.graphs.params.get(name) ?? []);
      }
      for (const [name, { shape }] of this.graphs.flipped) {
        const v = params.get(name);
        if (v === undefined) throw new Error(`training step: ${name} is missing`);
        feeds[name] = this.tensor(v, shape);
      }
      for (const t of TASKS) {
        const d = this.stacked(Array.from({ length: this.branches }, (_, br) => dlogits[br]?.[t]), `∂L/∂logits of ${t}`);
        feeds[dlogitsName(t)] = this.tensor(d, [this.batch * this.branches, TASK_OUTPUTS[t]]);
      }
      const out = await this.bwd.run(feeds);
      const grads = new Map<string, Float32Array>();
      for (const name of this.graphs.params.keys()) {
        const g = out[`grad:${name}`];
        if (g === undefined) throw new Error(`training backward did not return the gradient of ${name}`);
        grads.set(name, g.data as Float32Array);
      }
      return grads;
    } finally {
      f.saved.clear();
    }
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.fwd.release(), this.bwd.release()]);
  }
}
