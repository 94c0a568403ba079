/**
 * Forward pass of the caffe-style ResNet-50 (`resnet50_ferplus_dag`, spec §1.1, §9.2) in NHWC
 * with tf ops over a weight map. Channel widths come from `dims` (read off the weights), so the
 * reduced-width parity fixtures run through the same code as the released models.
 */
import { tf, type Tensor2D, type Tensor4D } from '../tf.js';
import { maxPoolTorch, type ConvBn } from './conv-bn.js';
import { resnet50Blocks, type ResNet50Dims } from './resnet50-layers.js';

const S = 'backbone/';

/** [B, H, W, 3] preprocessed faces → [B, C5] globally pooled features (2048 at full width). */
export function resnet50CaffeForward(x: Tensor4D, dims: ResNet50Dims, convBn: ConvBn): Tensor2D {
  return tf.tidy(() => {
    // Explicit symmetric pad 3: TF 'same' would pad 2/3 on an even input at stride 2.
    let h = convBn(x, `${S}conv1_7x7_s2`, `${S}conv1_7x7_s2_bn`, { stride: 2, pad: 3, relu: true });
    h = maxPoolTorch(h, 3, 2, 0, true);
    for (const b of resnet50Blocks(dims)) {
      const n = `${S}${b.name}`;
      const shortcut: Tensor4D = b.proj ? convBn(h, `${n}_1x1_proj`, `${n}_1x1_proj_bn`, { stride: b.stride, pad: 0, relu: false }) : h;
      let y = convBn(h, `${n}_1x1_reduce`, `${n}_1x1_reduce_bn`, { stride: b.stride, pad: 0, relu: true });
      y = convBn(y, `${n}_3x3`, `${n}_3x3_bn`, { stride: 1, pad: 1, relu: true });
      y = convBn(y, `${n}_1x1_increase`, `${n}_1x1_increase_bn`, { stride: 1, pad: 0, relu: false });
      h = tf.relu(tf.add(y, shortcut) as Tensor4D);
    }
    // AdaptiveAvgPool2d(1): the seed replaces pool5 whenever image_size != 224.
    return tf.mean(h, [1, 2]) as Tensor2D;
  });
}

/** (conv, bn) name pairs of every unit, for `foldBatchNorms`. */
export function resnet50ConvBnPairs(dims: ResNet50Dims): [string, string][] {
  const pairs: [string, string][] = [[`${S}conv1_7x7_s2`, `${S}conv1_7x7_s2_bn`]];
  for (const b of resnet50Blocks(dims)) {
    const n = `${S}${b.name}`;
    for (const c of ['1x1_reduce', '3x3', '1x1_increase', ...(b.proj ? ['1x1_proj'] : [])]) pairs.push([`${n}_${c}`, `${n}_${c}_bn`]);
  }
  return pairs;
}

