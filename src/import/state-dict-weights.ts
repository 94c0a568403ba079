/**
 * Maps a seed PyTorch `state_dict` (`Model` = CNN keys, `Seq_Model` = CNN-RNN keys, spec §2.3,
 * §2.4, Appendix A) onto TF.js weights: conv [out,in,kh,kw] → [kh,kw,in,out]; Linear and GRU
 * matrices [out,in] → [in,out] (GRU columns stay in PyTorch gate order r|z|n). Every key is
 * checked and all problems are thrown together; BN counters (`num_batches_tracked`) are ignored.
 */
import type { StateDict, TorchTensor } from './checkpoint/types.js';
import { tf, type Tensor } from '../models/tf.js';
import { defaultDims, inferDims, seedParams, type ParamSpec, type SeedArchitecture, type SeedKind } from '../models/seed/architecture.js';
import { ModelWeightsError, type WeightProblem } from '../models/seed/errors.js';
import { sameShape } from '../models/seed/weight-check.js';
import type { SeedWeights } from '../models/seed/weights.js';

export interface StateDictOptions {
  /** The kind the caller expects; a checkpoint of the other kind is an error. */
  readonly kind: SeedKind;
  readonly arch?: SeedArchitecture;
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
  /** `backbone`: only the backbone's keys are expected and returned (a pretrained backbone such as FER+'s). */
  readonly part?: 'all' | 'backbone';
}

/** `Seq_Model` nests the whole `Model` under `backbone.` and owns GRU heads. */
export function detectStateDictKind(keys: Iterable<string>): SeedKind {
  for (const k of keys) if (k.startsWith('backbone.backbone.') || k.includes('.GRU_layer.')) return 'cnn-rnn';
  return 'cnn';
}

function detectStateDictArch(keys: Iterable<string>): SeedArchitecture | undefined {
  for (const k of keys) {
    if (k.includes('backbone.model.conv1_7x7_s2.')) return 'resnet50-caffe';
    if (k.includes('backbone.model.layer1.0.')) return 'compact';
  }
  return undefined;
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16']);

function tfShapeOf(p: ParamSpec, torchShape: readonly number[]): readonly number[] | undefined {
  if (p.transform === 'oihw-to-hwio') {
    const [o, i, h, w] = torchShape;
    return torchShape.length === 4 && o !== undefined && i !== undefined && h !== undefined && w !== undefined ? [h, w, i, o] : undefined;
  }
  if (p.transform === 'transpose-2d') {
    const [o, i] = torchShape;
    return torchShape.length === 2 && o !== undefined && i !== undefined ? [i, o] : undefined;
  }
  return torchShape;
}

function toTf(p: ParamSpec, t: TorchTensor): Tensor {
  return tf.tidy(() => {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
    const raw = tf.tensor(data, [...t.shape], 'float32');
    if (p.transform === 'oihw-to-hwio') return tf.transpose(raw, [2, 3, 1, 0]);
    if (p.transform === 'transpose-2d') return tf.transpose(raw, [1, 0]);
    return raw;
  });
}

export function stateDictToWeights(sd: StateDict, opts: StateDictOptions): SeedWeights {
  const source = opts.source ?? 'state_dict';
  const problems: WeightProblem[] = [];
  const keys = [...sd.keys()];
  const actualKind = detectStateDictKind(keys);
  if (actualKind !== opts.kind) problems.push({ kind: 'model-kind', name: source, expected: opts.kind, actual: actualKind });
  const arch = opts.arch ?? detectStateDictArch(keys) ?? 'resnet50-caffe';
  const foundArch = detectStateDictArch(keys);
  if (foundArch !== undefined && foundArch !== arch) problems.push({ kind: 'model-kind', name: source, expected: arch, actual: foundArch });

  // Names do not depend on widths: map keys with the default-width table, then read the widths.
  const byTorch = new Map(seedParams(opts.kind, defaultDims(arch)).map((p) => [p.torch, p]));
  const tfShapes = new Map<string, readonly number[]>();
  for (const [key, t] of sd) {
    const p = byTorch.get(key);
    if (p === undefined) continue;
    const s = tfShapeOf(p, t.shape);
    if (s !== undefined) tfShapes.set(p.tf, s);
  }
  const dims = inferDims(arch, (n) => tfShapes.get(n));
  const expected = seedParams(opts.kind, dims).filter((p) => opts.part !== 'backbone' || p.tf.startsWith('backbone/'));
  const expectedKeys = new Set(expected.map((p) => p.torch));
  for (const p of expected) {
    const t = sd.get(p.torch);
    if (t === undefined) problems.push({ kind: 'missing', name: p.torch, expected: p.torchShape });
    else if (!sameShape(t.shape, p.torchShape)) problems.push({ kind: 'shape', name: p.torch, expected: p.torchShape, actual: t.shape });
    else if (!FLOAT_DTYPES.has(t.dtype)) problems.push({ kind: 'dtype', name: p.torch, dtype: t.dtype });
  }
  for (const [key, t] of sd) {
    if (key.endsWith('.num_batches_tracked')) continue;
    if (!expectedKeys.has(key)) problems.push({ kind: 'unexpected', name: key, actual: t.shape });
  }
  if (problems.length > 0) throw new ModelWeightsError(source, problems);

  const weights = new Map<string, Tensor>();
  try {
    for (const p of expected) {
      const t = sd.get(p.torch);
      if (t === undefined) throw new Error(`unreachable: ${p.torch} checked present`);
      weights.set(p.tf, toTf(p, t));
    }
  } catch (err) {
    for (const t of weights.values()) t.dispose();
    throw err;
  }
  return { arch, kind: opts.kind, dims, weights };
}

