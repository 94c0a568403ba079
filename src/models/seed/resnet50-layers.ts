/**
 * Layer table of the caffe-style ResNet-50 (`resnet50_ferplus_dag`, spec §1.1 and Appendix A).
 * Names are the MatConvNet-derived module names; registration order matches the state_dict.
 */
import type { LayerSpec, ShapeLookup } from './architecture.js';

export interface ResNet50Stage {
  readonly mid: number;
  readonly out: number;
}

export interface ResNet50Dims {
  readonly stem: number;
  /** conv2_x … conv5_x. */
  readonly stages: readonly [ResNet50Stage, ResNet50Stage, ResNet50Stage, ResNet50Stage];
}

export const RESNET50_BLOCKS = [3, 4, 6, 3] as const;

export interface ResNet50Block {
  /** e.g. `conv3_1`. */
  readonly name: string;
  /** Stride of the 1×1 reduce and 1×1 proj convs (the 3×3 always has stride 1). */
  readonly stride: number;
  readonly proj: boolean;
  readonly inC: number;
  readonly mid: number;
  readonly out: number;
}

export function defaultResNet50Dims(): ResNet50Dims {
  return {
    stem: 64,
    stages: [
      { mid: 64, out: 256 },
      { mid: 128, out: 512 },
      { mid: 256, out: 1024 },
      { mid: 512, out: 2048 },
    ],
  };
}

/** Divides every width by `factor` (the reduced-width parity fixtures do this). */
export function scaledResNet50Dims(factor: number): ResNet50Dims {
  const d = defaultResNet50Dims();
  const s = (st: ResNet50Stage): ResNet50Stage => ({ mid: st.mid / factor, out: st.out / factor });
  return { stem: d.stem / factor, stages: [s(d.stages[0]), s(d.stages[1]), s(d.stages[2]), s(d.stages[3])] };
}

export function resnet50Blocks(dims: ResNet50Dims): ResNet50Block[] {
  const blocks: ResNet50Block[] = [];
  let inC = dims.stem;
  dims.stages.forEach((stage, si) => {
    const count = RESNET50_BLOCKS[si] ?? 0;
    for (let b = 1; b <= count; b++) {
      blocks.push({
        name: `conv${si + 2}_${b}`,
        stride: b === 1 && si > 0 ? 2 : 1,
        proj: b === 1,
        inC,
        mid: stage.mid,
        out: stage.out,
      });
      inC = stage.out;
    }
  });
  return blocks;
}

export function resnet50Layers(dims: ResNet50Dims): LayerSpec[] {
  const conv = (name: string, inC: number, outC: number, k: number): LayerSpec => ({ kind: 'conv', tf: name, torch: name, inC, outC, k });
  const bn = (name: string, c: number): LayerSpec => ({ kind: 'bn', tf: name, torch: name, c });
  const layers: LayerSpec[] = [conv('conv1_7x7_s2', 3, dims.stem, 7), bn('conv1_7x7_s2_bn', dims.stem)];
  for (const b of resnet50Blocks(dims)) {
    const n = b.name;
    layers.push(
      conv(`${n}_1x1_reduce`, b.inC, b.mid, 1),
      bn(`${n}_1x1_reduce_bn`, b.mid),
      conv(`${n}_3x3`, b.mid, b.mid, 3),
      bn(`${n}_3x3_bn`, b.mid),
      conv(`${n}_1x1_increase`, b.mid, b.out, 1),
    );
    // Registration order in first blocks: increase, proj, increase_bn, proj_bn (Appendix A).
    if (b.proj) layers.push(conv(`${n}_1x1_proj`, b.inC, b.out, 1));
    layers.push(bn(`${n}_1x1_increase_bn`, b.out));
    if (b.proj) layers.push(bn(`${n}_1x1_proj_bn`, b.out));
  }
  return layers;
}

/** `shapeOf` receives backbone-relative names such as `conv2_1_1x1_reduce/kernel` ([kh,kw,in,out]). */
export function inferResNet50Dims(shapeOf: ShapeLookup): ResNet50Dims {
  const d = defaultResNet50Dims();
  const outOf = (name: string, fallback: number): number => shapeOf(`${name}/kernel`)?.[3] ?? fallback;
  const stage = (i: 0 | 1 | 2 | 3): ResNet50Stage => ({
    mid: outOf(`conv${i + 2}_1_1x1_reduce`, d.stages[i].mid),
    out: outOf(`conv${i + 2}_1_1x1_increase`, d.stages[i].out),
  });
  return { stem: outOf('conv1_7x7_s2', d.stem), stages: [stage(0), stage(1), stage(2), stage(3)] };
}
