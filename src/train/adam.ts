/**
 * Adam as PyTorch 1.13 computes it (no weight decay, no amsgrad):
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * Its state (step and moments) round-trips through checkpoints so a resumed run continues
 * bit for bit. The seed: lr 1e-4, betas (0.5, 0.999), ε 1e-8.
 */
import type { NamedTensorMap } from '../models/tf.js';
import { tf, type Tensor } from '../models/tf.js';
import { TrainError } from './errors.js';

export interface AdamOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

export const SEED_ADAM: AdamOptions = { lr: 1e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };

export interface AdamState {
  readonly step: number;
  readonly m: ReadonlyMap<string, Float32Array>;
  readonly v: ReadonlyMap<string, Float32Array>;
}

export class Adam {
  private step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  lr: number;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly o: AdamOptions = SEED_ADAM,
  ) {
    this.lr = o.lr;
    for (const [n, p] of params) {
      this.m.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  get steps(): number {
    return this.step;
  }

  /** Applies one update from gradients keyed by the variables' names (`Variable.name`). */
  apply(grads: NamedTensorMap): void {
    this.step += 1;
    const { beta1: b1, beta2: b2, eps } = this.o;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    tf.tidy(() => {
      for (const [n, p] of this.params) {
        const g = grads[p.name];
        if (g === undefined) continue;
        const m = this.m.get(n);
        const v = this.v.get(n);
        if (m === undefined || v === undefined) continue;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(m1);
        v.assign(v1);
        const denom = tf.add(tf.sqrt(tf.div(v1, c2)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m1, denom), this.lr / c1)));
      }
    });
  }

  async state(): Promise<AdamState> {
    const read = async (src: Map<string, tf.Variable>): Promise<Map<string, Float32Array>> => {
      const out = new Map<string, Float32Array>();
      for (const [n, t] of src) out.set(n, (await t.data()) as Float32Array);
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  restore(s: AdamState): void {
    this.step = s.step;
    for (const [src, dst] of [[s.m, this.m], [s.v, this.v]] as const) {
      for (const [n, t] of dst) {
        const d = src.get(n);
        if (d === undefined || d.length !== t.size) throw new TrainError(`optimizer state lacks ${n}`);
        tf.tidy(() => t.assign(tf.tensor(d, t.shape, 'float32') as Tensor));
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * The same update on plain arrays, one pass per parameter: the ONNX Runtime training path keeps
 * parameters and moments outside TF.js between checkpoints (engine/onnx-cnn-step.ts). Computed in
 * float64 and stored as float32, so it differs from `Adam` by float32 rounding only (tested).
 */
export class FlatAdam {
  step: number;

  constructor(
    readonly m: Map<string, Float32Array>,
    readonly v: Map<string, Float32Array>,
    step: number,
    private readonly o: AdamOptions = SEED_ADAM,
  ) {
    this.step = step;
  }

  /** Updates `params` in place from `grads` (same names, same layouts as the moments). */
  apply(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    this.step += 1;
    const { beta1: b1, beta2: b2, eps } = this.o;
    const c2 = 1 - b2 ** this.step;
    const rate = lr / (1 - b1 ** this.step);
    for (const [n, g] of grads) {
      const p = params.get(n);
      const m = this.m.get(n);
      const v = this.v.get(n);
      if (p === undefined || m === undefined || v === undefined || p.length !== g.length) throw new Error(`optimizer state lacks ${n}`);
      for (let i = 0; i < g.length; i++) {
        const gi = g[i] as number;
        const mi = b1 * (m[i] as number) + (1 - b1) * gi;
        const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = (p[i] as number) - (mi / (Math.sqrt(vi / c2) + eps)) * rate;
      }
    }
  }
}

export type LrSchedule = { readonly kind: 'step'; readonly stepEpochs: number; readonly gamma: number } | { readonly kind: 'constant' };

/** StepLR stepped once per epoch (the seed built it but never stepped it: `constant`). */
export function lrAt(base: number, epoch: number, s: LrSchedule): number {
  return s.kind === 'constant' ? base : base * s.gamma ** Math.floor(epoch / s.stepEpochs);
}
