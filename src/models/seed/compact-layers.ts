/**
 * Layer table of the `compact` backbone: a torchvision-style ResNet-18 (basic blocks, stride on
 * the first 3×3, 1×1 downsample + BN shortcut) run at 112×112. torchvision's module names are
 * kept so a PyTorch-trained ResNet-18 maps onto it with the same state-dict code as the seed.
 * At 112 input: conv1 → 56, maxpool → 28, layer1..4 → 28, 14, 7, 4; feature = last width (512).
 */
import type { LayerSpec, ShapeLookup } from './architecture.js';

export interface CompactDims {
  readonly stem: number;
  /** Output width of layer1 … layer4. */
  readonly stages: readonly [number, number, number, number];
}

export const COMPACT_BLOCKS = [2, 2, 2, 2] as const;

export interface CompactBlock {
  /** e.g. `layer2.0`. */
  readonly name: string;
  readonly stride: number;
  readonly downsample: boolean;
  readonly inC: number;
  readonly out: number;
}

export function defaultCompactDims(): CompactDims {
  return { stem: 64, stages: [64, 128, 256, 512] };
}

export function compactBlocks(dims: CompactDims): CompactBlock[] {
  const blocks: CompactBlock[] = [];
  let inC = dims.stem;
  dims.stages.forEach((out, si) => {
    const count = COMPACT_BLOCKS[si] ?? 0;
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && si > 0 ? 2 : 1;
      blocks.push({ name: `layer${si + 1}.${b}`, stride, downsample: stride !== 1 || inC !== out, inC, out });
      inC = out;
    }
  });
  return blocks;
}

export function compactLayers(dims: CompactDims): LayerSpec[] {
  const conv = (name: string, inC: number, outC: number, k: number): LayerSpec => ({ kind: 'conv', tf: name, torch: name, inC, outC, k });
  const bn = (name: string, c: number): LayerSpec => ({ kind: 'bn', tf: name, torch: name, c });
  const layers: LayerSpec[] = [conv('conv1', 3, dims.stem, 7), bn('bn1', dims.stem)];
  for (const b of compactBlocks(dims)) {
    layers.push(conv(`${b.name}.conv1`, b.inC, b.out, 3), bn(`${b.name}.bn1`, b.out), conv(`${b.name}.conv2`, b.out, b.out, 3), bn(`${b.name}.bn2`, b.out));
    if (b.downsample) layers.push(conv(`${b.name}.downsample.0`, b.inC, b.out, 1), bn(`${b.name}.downsample.1`, b.out));
  }
  return layers;
}

export function inferCompactDims(shapeOf: ShapeLookup): CompactDims {
  const d = defaultCompactDims();
  const outOf = (name: string, fallback: number): number => shapeOf(`${name}/kernel`)?.[3] ?? fallback;
  return {
    stem: outOf('conv1', d.stem),
    stages: [outOf('layer1.0.conv1', d.stages[0]), outOf('layer2.0.conv1', d.stages[1]), outOf('layer3.0.conv1', d.stages[2]), outOf('layer4.0.conv1', d.stages[3])],
  };
}
