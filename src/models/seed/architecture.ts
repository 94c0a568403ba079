/**
 * One table of every parameter a seed model owns, for both naming schemes (PyTorch state_dict
 * keys and our TF.js weight names) and both layouts. The state-dict mapper, the model-directory
 * validator and the initialiser all read this table, so they cannot disagree about names/shapes.
 */
import { TASKS, TASK_OUTPUTS, type TaskName } from './constants.js';
import { compactLayers, defaultCompactDims, inferCompactDims, type CompactDims } from './compact-layers.js';
import { resnet50Layers, defaultResNet50Dims, inferResNet50Dims, type ResNet50Dims } from './resnet50-layers.js';

export type SeedArchitecture = 'resnet50-caffe' | 'compact';
export type SeedKind = 'cnn' | 'cnn-rnn';

export type LayerSpec =
  | { readonly kind: 'conv'; readonly tf: string; readonly torch: string; readonly inC: number; readonly outC: number; readonly k: number }
  | { readonly kind: 'bn'; readonly tf: string; readonly torch: string; readonly c: number }
  | { readonly kind: 'linear'; readonly tf: string; readonly torch: string; readonly inF: number; readonly outF: number }
  | { readonly kind: 'gru'; readonly tf: string; readonly torch: string; readonly inF: number; readonly hidden: number };

/** How a PyTorch tensor becomes its TF.js counterpart. */
export type ParamTransform = 'oihw-to-hwio' | 'transpose-2d' | 'none';

export interface ParamSpec {
  readonly tf: string;
  readonly torch: string;
  readonly tfShape: readonly number[];
  readonly torchShape: readonly number[];
  readonly transform: ParamTransform;
  readonly layer: LayerSpec;
}

export type BackboneDims =
  | { readonly arch: 'resnet50-caffe'; readonly dims: ResNet50Dims }
  | { readonly arch: 'compact'; readonly dims: CompactDims };

export interface SeedDims {
  readonly backbone: BackboneDims;
  /** Width of the CNN heads' hidden layer (128 in the seed). */
  readonly hidden: number;
  /** GRU hidden size per direction (64 in the seed); unused for kind 'cnn'. */
  readonly gruHidden: number;
}

export function backboneFeatureDim(b: BackboneDims): number {
  return b.arch === 'resnet50-caffe' ? (b.dims.stages.at(-1)?.out ?? 0) : (b.dims.stages.at(-1) ?? 0);
}

export function defaultDims(arch: SeedArchitecture): SeedDims {
  const backbone: BackboneDims =
    arch === 'resnet50-caffe'
      ? { arch, dims: defaultResNet50Dims() }
      : { arch, dims: defaultCompactDims() };
  return { backbone, hidden: 128, gruHidden: 64 };
}

/** Every layer of a seed model in PyTorch registration order (backbone, CNN heads, GRU heads). */
export function seedLayers(kind: SeedKind, dims: SeedDims): LayerSpec[] {
  const inner = kind === 'cnn-rnn' ? 'backbone.' : '';
  const backbone = dims.backbone.arch === 'resnet50-caffe' ? resnet50Layers(dims.backbone.dims) : compactLayers(dims.backbone.dims);
  const layers: LayerSpec[] = backbone.map((l) => ({ ...l, tf: `backbone/${l.tf}`, torch: `${inner}backbone.model.${l.torch}` }));
  const feature = backboneFeatureDim(dims.backbone);
  TASKS.forEach((task, i) => {
    const t = `heads/${task}`;
    const p = `${inner}classifier.${i}`;
    layers.push(
      { kind: 'bn', tf: `${t}/bn0`, torch: `${p}.bn0`, c: feature },
      { kind: 'linear', tf: `${t}/fc_0`, torch: `${p}.fc_0`, inF: feature, outF: dims.hidden },
      { kind: 'bn', tf: `${t}/bn1`, torch: `${p}.bn1`, c: dims.hidden },
      { kind: 'linear', tf: `${t}/fc_1`, torch: `${p}.fc_1`, inF: dims.hidden, outF: TASK_OUTPUTS[task] },
    );
  });
  if (kind === 'cnn-rnn') {
    TASKS.forEach((task, i) => {
      layers.push(
        { kind: 'gru', tf: `gru/${task}/gru`, torch: `classifier.${i}.GRU_layer`, inF: dims.hidden, hidden: dims.gruHidden },
        { kind: 'linear', tf: `gru/${task}/fc_1`, torch: `classifier.${i}.fc_1`, inF: 2 * dims.gruHidden, outF: TASK_OUTPUTS[task] },
      );
    });
  }
  return layers;
}

/** Expands layers into parameters. GRU matrices are transposed to [in, 3H] with columns in PyTorch gate order r|z|n. */
export function layerParams(layer: LayerSpec): ParamSpec[] {
  const p = (tf: string, torch: string, tfShape: number[], torchShape: number[], transform: ParamTransform): ParamSpec => ({
    tf: `${layer.tf}/${tf}`,
    torch: `${layer.torch}.${torch}`,
    tfShape,
    torchShape,
    transform,
    layer,
  });
  switch (layer.kind) {
    case 'conv':
      return [p('kernel', 'weight', [layer.k, layer.k, layer.inC, layer.outC], [layer.outC, layer.inC, layer.k, layer.k], 'oihw-to-hwio')];
    case 'bn':
      return [
        p('gamma', 'weight', [layer.c], [layer.c], 'none'),
        p('beta', 'bias', [layer.c], [layer.c], 'none'),
        p('moving_mean', 'running_mean', [layer.c], [layer.c], 'none'),
        p('moving_variance', 'running_var', [layer.c], [layer.c], 'none'),
      ];
    case 'linear':
      return [
        p('kernel', 'weight', [layer.inF, layer.outF], [layer.outF, layer.inF], 'transpose-2d'),
        p('bias', 'bias', [layer.outF], [layer.outF], 'none'),
      ];
    case 'gru': {
      const g = 3 * layer.hidden;
      const out: ParamSpec[] = [];
      for (const [dir, suffix] of [['forward', ''], ['backward', '_reverse']] as const) {
        out.push(
          p(`${dir}/kernel_ih`, `weight_ih_l0${suffix}`, [layer.inF, g], [g, layer.inF], 'transpose-2d'),
          p(`${dir}/kernel_hh`, `weight_hh_l0${suffix}`, [layer.hidden, g], [g, layer.hidden], 'transpose-2d'),
          p(`${dir}/bias_ih`, `bias_ih_l0${suffix}`, [g], [g], 'none'),
          p(`${dir}/bias_hh`, `bias_hh_l0${suffix}`, [g], [g], 'none'),
        );
      }
      return out;
    }
  }
}

export function seedParams(kind: SeedKind, dims: SeedDims): ParamSpec[] {
  return seedLayers(kind, dims).flatMap(layerParams);
}

/** Looks up a TF.js weight's shape; returns undefined when the weight is absent. */
export type ShapeLookup = (tfName: string) => readonly number[] | undefined;

/**
 * Reads the channel widths off the weights themselves, so reduced-width test models and slimmer
 * variants load through the same code. Absent weights fall back to the full-width defaults; the
 * caller's per-key check then reports them as missing.
 */
export function inferDims(arch: SeedArchitecture, shapeOf: ShapeLookup): SeedDims {
  const fallback = defaultDims(arch);
  const backbone: BackboneDims =
    arch === 'resnet50-caffe'
      ? { arch, dims: inferResNet50Dims((n) => shapeOf(`backbone/${n}`)) }
      : { arch, dims: inferCompactDims((n) => shapeOf(`backbone/${n}`)) };
  const first: TaskName = TASKS[0];
  const hidden = shapeOf(`heads/${first}/fc_0/kernel`)?.[1] ?? fallback.hidden;
  const gruHidden = shapeOf(`gru/${first}/gru/forward/kernel_hh`)?.[0] ?? fallback.gruHidden;
  return { backbone, hidden, gruHidden };
}

/** Names the architecture a set of TF.js weight names belongs to. */
export function detectArchitecture(names: Iterable<string>): SeedArchitecture | undefined {
  for (const n of names) {
    if (n.startsWith('backbone/conv1_7x7_s2/')) return 'resnet50-caffe';
    if (n.startsWith('backbone/layer1.0.')) return 'compact';
  }
  return undefined;
}
