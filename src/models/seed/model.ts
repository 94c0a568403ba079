/**
 * One ensemble member. The CNN part and the GRU part run separately so a sliding window can cache
 * each frame's CNN features once and run only the GRU heads per window position.
 */
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../tf.js';
import type { SeedArchitecture, SeedDims, SeedKind } from './architecture.js';
import { backboneFeatureDim } from './architecture.js';
import { compactConvBnPairs, compactForward } from './compact-backbone.js';
import { TASKS, type TaskName } from './constants.js';
import { foldBatchNorms, foldedConvBn, unfoldedConvBn, type ConvBn } from './conv-bn.js';
import { ModelWeightsError, SeedModelError } from './errors.js';
import { gruHeadForward } from './gru.js';
import { disposePacked, packedGruHeadsForward, packGruHeads, type PackedGruHeads } from './gru-heads-packed.js';
import { foldedHeadForward, foldHeads, headForward, type HeadOutput } from './heads.js';
import { resnet50CaffeForward, resnet50ConvBnPairs } from './resnet50-caffe.js';
import type { PerTask, WeightMap } from './types.js';
import { checkWeightShapes } from './weight-check.js';
import type { SeedWeights } from './weights.js';

export interface SeedModelOptions {
  /** Fold BatchNorm into conv/linear weights at load (default true: ~fewer kernels per frame). */
  readonly fold?: boolean;
  /** Keep the unfolded weights too so `path: 'unfolded'` can cross-check the fold (default false). */
  readonly keepUnfolded?: boolean;
  /** Named in error messages. */
  readonly source?: string;
}

export type ForwardPath = 'folded' | 'unfolded';

/** 'packed': all six recurrences batched (fast); 'reference': one loop per task and direction. */
export type GruImplementation = 'packed' | 'reference';

export interface CnnOutput {
  /** Per task [B, hidden]: the bn1 output, the GRU heads' input. */
  readonly features: PerTask<Tensor2D>;
  /** Per task [B, n]: the CNN heads' logits (EXPR 7, AU 8, VA 40). */
  readonly logits: PerTask<Tensor2D>;
}

function perTask<T>(f: (task: TaskName) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

export function disposeCnnOutput(out: CnnOutput): void {
  for (const t of TASKS) {
    out.features[t].dispose();
    out.logits[t].dispose();
  }
}

export class SeedModel {
  readonly arch: SeedArchitecture;
  readonly kind: SeedKind;
  readonly dims: SeedDims;
  /** Backbone output width (2048 for the full ResNet-50). */
  readonly featureDim: number;
  private raw: Map<string, Tensor> | undefined;
  private folded: Map<string, Tensor> | undefined;
  private packedGru: PackedGruHeads | undefined;
  private disposed = false;

  private constructor(w: SeedWeights, folded: Map<string, Tensor> | undefined, raw: Map<string, Tensor>) {
    this.arch = w.arch;
    this.kind = w.kind;
    this.dims = w.dims;
    this.featureDim = backboneFeatureDim(w.dims.backbone);
    this.folded = folded;
    this.raw = raw;
    this.packedGru = w.kind === 'cnn-rnn' ? packGruHeads(raw) : undefined;
  }

  /**
   * Validates every weight name and shape, then takes ownership of `w.weights` (also when it
   * throws, so the caller never has to clean up after a failed load).
   */
  static fromWeights(w: SeedWeights, opts: SeedModelOptions = {}): SeedModel {
    const shapes = new Map([...w.weights].map(([n, t]) => [n, t.shape] as const));
    const { dims, problems } = checkWeightShapes(w.arch, w.kind, shapes);
    if (problems.length > 0) {
      for (const t of w.weights.values()) t.dispose();
      throw new ModelWeightsError(opts.source ?? `${w.arch} ${w.kind} weights`, problems);
    }
    const checked: SeedWeights = { ...w, dims };
    if (opts.fold === false) return new SeedModel(checked, undefined, w.weights);
    const pairs = dims.backbone.arch === 'resnet50-caffe' ? resnet50ConvBnPairs(dims.backbone.dims) : compactConvBnPairs(dims.backbone.dims);
    const folded = new Map([...foldBatchNorms(w.weights, pairs), ...foldHeads(w.weights)]);
    const raw = w.weights;
    if (opts.keepUnfolded !== true) {
      // The folded path still reads fc_1 of the CNN heads and all GRU-head weights from `raw`.
      for (const [name, t] of raw) {
        if (name.startsWith('gru/') || /^heads\/\w+\/fc_1\//.test(name)) continue;
        t.dispose();
        raw.delete(name);
      }
    }
    return new SeedModel(checked, folded, raw);
  }

  private live(): { raw: Map<string, Tensor>; folded: Map<string, Tensor> | undefined } {
    if (this.disposed || this.raw === undefined) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'SeedModel used after dispose()');
    return { raw: this.raw, folded: this.folded };
  }

  private choosePath(path: ForwardPath | undefined): ForwardPath {
    const { folded } = this.live();
    const p = path ?? (folded !== undefined ? 'folded' : 'unfolded');
    if (p === 'folded' && folded === undefined) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'model was loaded with fold: false');
    if (p === 'unfolded' && folded !== undefined && !this.raw?.has(this.firstConvKernel())) {
      throw new SeedModelError('VA_ERR_MODEL_INPUT', 'unfolded weights were released after folding (load with keepUnfolded: true)');
    }
    return p;
  }

  private firstConvKernel(): string {
    return this.arch === 'resnet50-caffe' ? 'backbone/conv1_7x7_s2/kernel' : 'backbone/conv1/kernel';
  }

  /** [B, H, W, 3] preprocessed faces → [B, featureDim]. Caller owns the result. */
  backbone(faces: Tensor4D, path?: ForwardPath): Tensor2D {
    if (faces.rank !== 4 || faces.shape[3] !== 3) {
      throw new SeedModelError('VA_ERR_MODEL_INPUT', `faces must be [B, H, W, 3], got [${faces.shape.join(',')}]`);
    }
    const p = this.choosePath(path);
    const { raw, folded } = this.live();
    const convBn: ConvBn = p === 'folded' && folded !== undefined ? foldedConvBn(folded) : unfoldedConvBn(raw);
    const b = this.dims.backbone;
    return b.arch === 'resnet50-caffe' ? resnet50CaffeForward(faces, b.dims, convBn) : compactForward(faces, b.dims, convBn);
  }

  /** [B, featureDim] → per-task features and logits. Caller owns the result. */
  heads(f: Tensor2D, path?: ForwardPath): CnnOutput {
    const p = this.choosePath(path);
    const { raw, folded } = this.live();
    const outs: HeadOutput[] = [];
    try {
      for (const task of TASKS) outs.push(p === 'folded' && folded !== undefined ? foldedHeadForward(folded, raw, task, f) : headForward(raw, task, f));
    } catch (err) {
      for (const o of outs) tf.dispose([o.feature, o.logits]);
      throw err;
    }
    const at = (task: TaskName): HeadOutput => {
      const o = outs[TASKS.indexOf(task)];
      if (o === undefined) throw new Error('unreachable: head output missing');
      return o;
    };
    return { features: perTask((t) => at(t).feature), logits: perTask((t) => at(t).logits) };
  }

  /** Backbone + heads for a batch of preprocessed faces [B, 112, 112, 3]. */
  cnnFeatures(faces: Tensor4D, path?: ForwardPath): CnnOutput {
    const f = this.backbone(faces, path);
    try {
      return this.heads(f, path);
    } finally {
      f.dispose();
    }
  }

  /** Per task [B, T, hidden] (stacked `cnnFeatures` features) → per task [B, T, n] logits. */
  gruHeads(features: PerTask<Tensor3D>, impl: GruImplementation = 'packed'): PerTask<Tensor3D> {
    if (this.kind !== 'cnn-rnn') throw new SeedModelError('VA_ERR_MODEL_INPUT', 'gruHeads() needs a cnn-rnn model');
    const { raw } = this.live();
    const [b, t] = features.EXPR.shape;
    for (const task of TASKS) {
      const s = features[task].shape;
      if (features[task].rank !== 3 || s[0] !== b || s[1] !== t || s[2] !== this.dims.hidden) {
        throw new SeedModelError('VA_ERR_MODEL_INPUT', `${task} features must be [${b}, ${t}, ${this.dims.hidden}], got [${s.join(',')}]`);
      }
    }
    if (impl === 'packed' && this.packedGru !== undefined) return packedGruHeadsForward(this.packedGru, raw, features);
    const out: Partial<Record<TaskName, Tensor3D>> = {};
    try {
      for (const t of TASKS) out[t] = gruHeadForward(raw, t, features[t]);
    } catch (err) {
      tf.dispose(Object.values(out));
      throw err;
    }
    return perTask((t) => {
      const v = out[t];
      if (v === undefined) throw new Error('unreachable: GRU output missing');
      return v;
    });
  }

  /**
   * What an exporter reads (owned by the model, not to be disposed): the BN-folded backbone and
   * CNN heads, and the raw weights that stay unfolded (heads' fc_1, GRU heads).
   */
  exportWeights(): { readonly folded: WeightMap; readonly raw: WeightMap } {
    const { raw, folded } = this.live();
    if (folded === undefined) throw new SeedModelError('VA_ERR_MODEL_INPUT', 'export needs a model loaded with fold: true');
    return { folded, raw };
  }

  /** Releases every weight tensor; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of [this.raw, this.folded]) if (m !== undefined) for (const t of m.values()) t.dispose();
    if (this.packedGru !== undefined) disposePacked(this.packedGru);
    this.packedGru = undefined;
    this.raw = undefined;
    this.folded = undefined;
  }
}
