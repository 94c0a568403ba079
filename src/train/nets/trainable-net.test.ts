/**
 * Trainable nets: PyTorch train-mode BN (batch statistics, running statistics updated with
 * momentum 0.1 and the unbiased variance), and the round trip to the inference model: after
 * training-mode passes, the exported weights give the same eval-mode outputs in `SeedModel`
 * (folded BN, as `daemon predict` runs them) within 1e-4, for both backbones.
 */
import { describe, expect, it } from 'vitest';
import { tf, type Tensor4D } from '../../models/tf.js';
import { SeedModel, disposeCnnOutput } from '../../models/seed/model.js';
import { scaledResNet50Dims } from '../../models/seed/resnet50-layers.js';
import { compactDims, TrainableNet } from './trainable-net.js';
import { selectTrainingBackend } from '../engine/train-backend.js';

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const x = await a.data();
  const y = await b.data();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
  return m;
}

describe('TrainableNet', () => {
  it.each([
    ['compact', () => TrainableNet.random('compact', 'cnn', compactDims(0.125), 3)],
    ['resnet50-caffe', () => TrainableNet.random('resnet50-caffe', 'cnn', { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(16) }, hidden: 16, gruHidden: 8 }, 3)],
  ] as const)('%s: exported weights reproduce eval-mode outputs in the inference model', async (_name, make) => {
    await selectTrainingBackend('wasm');
    const before = tf.memory().numTensors;
    const net = make();
    const x = tf.randomUniform([4, 112, 112, 3], -100, 100, 'float32', 9) as Tensor4D;
    // Training-mode passes move the running statistics away from their initial 0/1.
    for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(() => net.cnn(tf.add(x, i * 5) as Tensor4D, { training: true, dropoutSeed: i }).logits.AU));
    const mean = net.vars.get('heads/AU/bn1/moving_mean');
    expect(Math.max(...Array.from(await (mean as tf.Tensor).data(), Math.abs))).toBeGreaterThan(1e-3);
    const model = SeedModel.fromWeights({ arch: net.arch, kind: net.kind, dims: net.dims, weights: net.exportWeights() });
    const ref = tf.tidy(() => net.cnn(x, { training: false }).logits);
    const out = model.cnnFeatures(x);
    for (const t of ['EXPR', 'AU', 'VA'] as const) expect(await maxDiff(out.logits[t], ref[t])).toBeLessThan(1e-4);
    disposeCnnOutput(out);
    tf.dispose([ref.EXPR, ref.AU, ref.VA, x]);
    model.dispose();
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('updates BN running statistics as PyTorch does (momentum 0.1, unbiased variance)', async () => {
    await selectTrainingBackend('wasm');
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 4);
    const f = tf.randomNormal([6, net.featureDim], 0, 2, 'float32', 5) as tf.Tensor2D;
    const mean0 = await (net.vars.get('heads/EXPR/bn0/moving_mean') as tf.Tensor).data();
    const var0 = await (net.vars.get('heads/EXPR/bn0/moving_variance') as tf.Tensor).data();
    // Run only the heads: a training pass of the full net on a feature batch.
    tf.tidy(() => (net as unknown as { trainHead(t: string, f: tf.Tensor2D): { logits: tf.Tensor2D } }).trainHead('EXPR', f).logits);
    const data = await f.data();
    const mean1 = await (net.vars.get('heads/EXPR/bn0/moving_mean') as tf.Tensor).data();
    const var1 = await (net.vars.get('heads/EXPR/bn0/moving_variance') as tf.Tensor).data();
    for (const c of [0, 5, net.featureDim - 1]) {
      const col = Array.from({ length: 6 }, (_, i) => data[i * net.featureDim + c] ?? 0);
      const m = col.reduce((a, b) => a + b, 0) / 6;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / 5;
      expect(mean1[c]).toBeCloseTo(0.9 * (mean0[c] ?? 0) + 0.1 * m, 5);
      expect(var1[c]).toBeCloseTo(0.9 * (var0[c] ?? 0) + 0.1 * v, 5);
    }
    f.dispose();
    net.dispose();
  });
});
