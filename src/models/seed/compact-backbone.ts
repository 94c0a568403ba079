/**
 * Forward pass of the `compact` backbone (torchvision ResNet-18 layout, see compact-layers.ts),
 * for real-time CPU use. Plain differentiable tf ops: with `unfoldedConvBn(w, 'batch')` the cpu
 * backend can train it (the wasm backend lacks Conv2DBackpropFilter).
 */
import { tf, type Tensor2D, type Tensor4D } from '../tf.js';
import { maxPoolTorch, type ConvBn } from './conv-bn.js';
import { compactBlocks, type CompactDims } from './compact-layers.js';

const S = 'backbone/';

/** [B, 112, 112, 3] preprocessed faces → [B, stages[3]] (512 at default width). */
export function compactForward(x: Tensor4D, dims: CompactDims, convBn: ConvBn): Tensor2D {
  return tf.tidy(() => {
    let h = convBn(x, `${S}conv1`, `${S}bn1`, { stride: 2, pad: 3, relu: true });
    h = maxPoolTorch(h, 3, 2, 1, false);
    for (const b of compactBlocks(dims)) {
      const n = `${S}${b.name}`;
      const shortcut = b.downsample ? convBn(h, `${n}.downsample.0`, `${n}.downsample.1`, { stride: b.stride, pad: 0, relu: false }) : h;
      let y = convBn(h, `${n}.conv1`, `${n}.bn1`, { stride: b.stride, pad: 1, relu: true });
      y = convBn(y, `${n}.conv2`, `${n}.bn2`, { stride: 1, pad: 1, relu: false });
      h = tf.relu(tf.add(y, shortcut) as Tensor4D);
    }
    return tf.mean(h, [1, 2]) as Tensor2D;
  });
}

export function compactConvBnPairs(dims: CompactDims): [string, string][] {
  const pairs: [string, string][] = [[`${S}conv1`, `${S}bn1`]];
  for (const b of compactBlocks(dims)) {
    const n = `${S}${b.name}`;
    pairs.push([`${n}.conv1`, `${n}.bn1`], [`${n}.conv2`, `${n}.bn2`]);
    if (b.downsample) pairs.push([`${n}.downsample.0`, `${n}.downsample.1`]);
  }
  return pairs;
}
