/**
 * A seed network (resnet50-caffe or compact, CNN or CNN-RNN) as trainable TF.js variables.
 * Names, shapes and layouts are the model directory's, so `exportWeights()` saves with
 * `saveModelDir` and loads in `daemon predict` unchanged. The forward passes reuse the inference
 * code (backbones take a ConvBn callback); training mode is PyTorch's: BatchNorm on batch
 * statistics (biased variance to normalise) with running statistics updated as
 * r ← 0.9·r + 0.1·stat (unbiased variance), eps 1e-5, and the two conv5_3 dropouts (p = 0.5) of
 * the ResNet-50 active.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Tensor4D } from '../../models/tf.js';
import { backboneFeatureDim, defaultDims, type SeedArchitecture, type SeedDims, type SeedKind } from '../../models/seed/architecture.js';
import { BN_EPSILON, TASKS, type TaskName } from '../../models/seed/constants.js';
import { compactForward } from '../../models/seed/compact-backbone.js';
import { resnet50CaffeForward } from '../../models/seed/resnet50-caffe.js';
import { unfoldedConvBn, weight, type ConvBn } from '../../models/seed/conv-bn.js';
import { headForward } from '../../models/seed/heads.js';
import { gruHeadForward } from '../../models/seed/gru.js';
import { initSeedWeights } from '../../models/seed/init.js';
import type { PerTask } from '../../models/seed/types.js';
import type { SeedWeights } from '../../models/seed/weights.js';
import { TrainError } from '../errors.js';

export const BN_MOMENTUM = 0.1;
const DROPOUT_CONVS = new Set(['backbone/conv5_3_3x3', 'backbone/conv5_3_1x1_increase']);

export interface CnnForward {
  /** Per task [B, hidden]: bn1 outputs (the GRU heads' input). */
  readonly features: PerTask<Tensor2D>;
  /** Per task [B, n] logits. */
  readonly logits: PerTask<Tensor2D>;
}

export interface TrainMode {
  /** Batch statistics + running-stat updates + dropout (PyTorch `train()`); false = `eval()`. */
  readonly training: boolean;
  /** Seed of this call's dropout masks (ResNet-50 conv5_3); derive it from the step for determinism. */
  readonly dropoutSeed?: number;
}

/** Compact backbone widths at a width multiplier (1 = ResNet-18 widths 64/64/128/256/512). */
export function compactDims(width: number): SeedDims {
  const w = (c: number): number => Math.max(1, Math.round(c * width));
  return { backbone: { arch: 'compact', dims: { stem: w(64), stages: [w(64), w(128), w(256), w(512)] } }, hidden: 128, gruHidden: 64 };
}

export function archDims(arch: SeedArchitecture, width = 1): SeedDims {
  return arch === 'compact' ? compactDims(width) : defaultDims(arch);
}

function isStat(name: string): boolean {
  return name.endsWith('/moving_mean') || name.endsWith('/moving_variance');
}

export class TrainableNet {
  readonly arch: SeedArchitecture;
  readonly kind: SeedKind;
  readonly dims: SeedDims;
  readonly featureDim: number;
  /** Every tensor by its model-directory name (parameters and BN running statistics). */
  readonly vars: Map<string, tf.Variable>;
  private disposed = false;

  private constructor(w: SeedWeights) {
    this.arch = w.arch;
    this.kind = w.kind;
    this.dims = w.dims;
    this.featureDim = backboneFeatureDim(w.dims.backbone);
    this.vars = new Map();
    for (const [name, t] of w.weights) {
      this.vars.set(name, tf.variable(t, !isStat(name), `${name}_${uid()}`));
      t.dispose();
    }
  }

  /** Takes ownership of `w.weights`. */
  static fromWeights(w: SeedWeights): TrainableNet {
    return new TrainableNet(w);
  }

  /** PyTorch default initialisation for heads and GRUs (spec §3.4), He-normal convs, fresh BN. */
  static random(arch: SeedArchitecture, kind: SeedKind, dims: SeedDims, seed: number): TrainableNet {
    return new TrainableNet(initSeedWeights({ arch, kind, dims, seed, bn: 'identity' }));
  }

  /**
   * A CNN-RNN whose CNN part is `cnn` (its weights are copied) and whose GRU heads are fresh.
   */
  static withFreshGru(cnn: SeedWeights, seed: number): TrainableNet {
    const fresh = initSeedWeights({ arch: cnn.arch, kind: 'cnn-rnn', dims: cnn.dims, seed, bn: 'identity' });
    for (const [name, t] of fresh.weights) {
      if (name.startsWith('gru/')) continue;
      const src = cnn.weights.get(name);
      if (src === undefined) throw new TrainError(`CNN weights lack ${name}`);
      t.dispose();
      fresh.weights.set(name, tf.clone(src));
    }
    return new TrainableNet(fresh);
  }

  private live(): Map<string, tf.Variable> {
    if (this.disposed) throw new TrainError('TrainableNet used after dispose()');
    return this.vars;
  }

  /** Trainable variables: everything but BN statistics, or only the GRU heads. */
  trainable(scope: 'all' | 'gru' = 'all'): tf.Variable[] {
    return [...this.live()].filter(([n]) => !isStat(n) && (scope === 'all' || n.startsWith('gru/'))).map(([, v]) => v);
  }

  trainableNames(scope: 'all' | 'gru' = 'all'): string[] {
    return [...this.live().keys()].filter((n) => !isStat(n) && (scope === 'all' || n.startsWith('gru/')));
  }

  private trainConvBn(dropoutSeed: number): ConvBn {
    const w = this.live();
    let drop = 0;
    return (x, conv, bn, { stride, pad, relu }) => {
      let y = tf.conv2d(x, weight<Tensor4D>(w, `${conv}/kernel`), stride, pad === 0 ? 'valid' : pad);
      if (DROPOUT_CONVS.has(conv)) y = tf.dropout(y, 0.5, undefined, dropoutSeed * 2 + drop++) as Tensor4D;
      const normed = this.batchNorm(y, bn, [0, 1, 2]);
      return relu ? tf.relu(normed) : normed;
    };
  }

  /** Training-mode BN: normalise with batch statistics and update the running ones. */
  private batchNorm<T extends Tensor>(y: T, bn: string, axes: number[]): T {
    const w = this.live();
    const { mean, variance } = tf.moments(y, axes) as { mean: Tensor1D; variance: Tensor1D };
    const n = axes.reduce((p, a) => p * (y.shape[a] ?? 1), 1);
    const rm = w.get(`${bn}/moving_mean`);
    const rv = w.get(`${bn}/moving_variance`);
    if (rm === undefined || rv === undefined) throw new TrainError(`BN ${bn} has no running statistics`);
    tf.tidy(() => {
      const m = mean;
      const v = tf.mul(variance, n > 1 ? n / (n - 1) : 1);
      rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(m, BN_MOMENTUM)));
      rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(v, BN_MOMENTUM)));
    });
    // Broadcast ops instead of tf.batchNorm: its gradient tiles the statistics to the full
    // activation shape, the slowest part of a wasm backward pass.
    const scale = tf.mul(weight<Tensor1D>(w, `${bn}/gamma`), tf.rsqrt(tf.add(variance, BN_EPSILON)));
    const shift = tf.sub(weight<Tensor1D>(w, `${bn}/beta`), tf.mul(mean, scale));
    return tf.add(tf.mul(y, scale), shift) as T;
  }

  private trainHead(task: TaskName, f: Tensor2D): { feature: Tensor2D; logits: Tensor2D } {
    const w = this.live();
    const s = `heads/${task}`;
    const lin = (x: Tensor2D, scope: string): Tensor2D =>
      tf.add(tf.matMul(x, weight<Tensor2D>(w, `${scope}/kernel`)), weight<Tensor1D>(w, `${scope}/bias`)) as Tensor2D;
    const hidden = tf.relu(lin(this.batchNorm(f, `${s}/bn0`, [0]), `${s}/fc_0`));
    const feature = this.batchNorm(hidden, `${s}/bn1`, [0]);
    return { feature, logits: lin(feature, `${s}/fc_1`) };
  }

  /** [B, 112, 112, 3] preprocessed faces → backbone features [B, featureDim]. */
  backbone(x: Tensor4D, mode: TrainMode): Tensor2D {
    const w = this.live();
    const convBn = mode.training ? this.trainConvBn(mode.dropoutSeed ?? 0) : unfoldedConvBn(w, 'running');
    const b = this.dims.backbone;
    return b.arch === 'resnet50-caffe' ? resnet50CaffeForward(x, b.dims, convBn) : compactForward(x, b.dims, convBn);
  }

  /** Backbone + the three CNN heads. Not wrapped in tidy: call inside `tf.tidy`/`variableGrads`. */
  cnn(x: Tensor4D, mode: TrainMode): CnnForward {
    const f = this.backbone(x, mode);
    const w = this.live();
    const outs = TASKS.map((t) => (mode.training ? this.trainHead(t, f) : headForward(w, t, f, 'running')));
    const at = (i: number): { feature: Tensor2D; logits: Tensor2D } => {
      const o = outs[i];
      if (o === undefined) throw new Error('unreachable');
      return o;
    };
    return {
      features: { EXPR: at(0).feature, AU: at(1).feature, VA: at(2).feature },
      logits: { EXPR: at(0).logits, AU: at(1).logits, VA: at(2).logits },
    };
  }

  /** Per task [B, T, hidden] → per task [B, T, n] (BiGRU → ReLU → fc_1). */
  gru(features: PerTask<Tensor3D>): PerTask<Tensor3D> {
    if (this.kind !== 'cnn-rnn') throw new TrainError('gru() needs a cnn-rnn net');
    const w = this.live();
    return { EXPR: gruHeadForward(w, 'EXPR', features.EXPR), AU: gruHeadForward(w, 'AU', features.AU), VA: gruHeadForward(w, 'VA', features.VA) };
  }

  /** Copies of every tensor by model-directory name; the caller owns them. */
  exportWeights(): Map<string, Tensor> {
    return new Map([...this.live()].map(([n, v]) => [n, tf.clone(v)] as const));
  }

  /** Flat copies of every tensor (for checkpoints). */
  async snapshot(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [n, v] of this.live()) out.set(n, ((await v.data()) as Float32Array).slice());
    return out;
  }

  /** Overwrites every variable from a snapshot (resume); names and sizes must match. */
  restore(values: ReadonlyMap<string, Float32Array>): void {
    for (const [n, v] of this.live()) {
      const data = values.get(n);
      if (data === undefined || data.length !== v.size) throw new TrainError(`checkpoint lacks ${n} or its size differs`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

let counter = 0;
function uid(): number {
  return ++counter;
}
