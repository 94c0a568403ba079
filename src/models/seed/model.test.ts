import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import type { SeedDims } from './architecture.js';
import { maxPoolTorch } from './conv-bn.js';
import { ModelWeightsError, SeedModelError } from './errors.js';
import { initSeedWeights } from './init.js';
import { SeedModel, disposeCnnOutput } from './model.js';
import { scaledResNet50Dims } from './resnet50-layers.js';

const small: SeedDims = { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(16) }, hidden: 16, gruHidden: 8 };
const smallCompact: SeedDims = { backbone: { arch: 'compact', dims: { stem: 8, stages: [8, 16, 24, 32] } }, hidden: 16, gruHidden: 8 };

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? NaN);
}

describe('maxPoolTorch (PyTorch MaxPool2d semantics)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('ceil_mode keeps the partial last window (56 → 28, 5 → 2) and pads with −∞', () => {
    const before = tf.memory().numTensors;
    const x56 = tf.zeros([1, 56, 56, 2]) as Tensor4D;
    const y56 = maxPoolTorch(x56, 3, 2, 0, true);
    expect(y56.shape).toEqual([1, 28, 28, 2]);
    // All-negative 5×5 input: the last window covers rows/cols 4 only (plus −∞ padding).
    const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => -1 - i), [1, 5, 5, 1]);
    const y = maxPoolTorch(x, 3, 2, 0, true);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect([...y.dataSync()]).toEqual([-1, -3, -11, -13]);
    const floor = maxPoolTorch(x, 3, 2, 0, false);
    expect(floor.shape).toEqual([1, 2, 2, 1]);
    const x6 = tf.tensor4d(Array.from({ length: 36 }, (_, i) => -i), [1, 6, 6, 1]);
    const f6 = maxPoolTorch(x6, 3, 2, 0, false);
    expect(f6.shape).toEqual([1, 2, 2, 1]);
    const c6 = maxPoolTorch(x6, 3, 2, 0, true);
    expect(c6.shape).toEqual([1, 3, 3, 1]);
    // torchvision's pool (pad 1, floor): 56 → 28
    const p = maxPoolTorch(x56, 3, 2, 1, false);
    expect(p.shape).toEqual([1, 28, 28, 2]);
    tf.dispose([x56, y56, x, y, floor, x6, f6, c6, p]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('SeedModel', () => {
  let faces: Tensor4D;
  beforeAll(async () => {
    await selectBackend('wasm');
    faces = tf.randomNormal([3, 112, 112, 3], 0, 40, 'float32', 3) as Tensor4D;
  });
  afterAll(() => faces.dispose());

  for (const dims of [small, smallCompact]) {
    it(`${dims.backbone.arch}: folded BN equals unfolded BN; CNN then GRU heads give per-task shapes`, () => {
      const before = tf.memory().numTensors;
      const model = SeedModel.fromWeights(initSeedWeights({ arch: dims.backbone.arch, kind: 'cnn-rnn', dims, bn: 'random', seed: 5 }), { keepUnfolded: true });
      const a = model.cnnFeatures(faces, 'folded');
      const b = model.cnnFeatures(faces, 'unfolded');
      for (const t of ['EXPR', 'AU', 'VA'] as const) {
        expect(maxDiff(a.logits[t], b.logits[t])).toBeLessThan(1e-4);
        expect(maxDiff(a.features[t], b.features[t])).toBeLessThan(1e-4);
        expect(a.features[t].shape).toEqual([3, 16]);
      }
      expect(a.logits.VA.shape).toEqual([3, 40]);
      // A window of T = 3 frames for one track: [1, 3, 16] per task.
      const window = {
        EXPR: tf.expandDims(a.features.EXPR, 0) as Tensor3D,
        AU: tf.expandDims(a.features.AU, 0) as Tensor3D,
        VA: tf.expandDims(a.features.VA, 0) as Tensor3D,
      };
      const g = model.gruHeads(window);
      const ref = model.gruHeads(window, 'reference');
      for (const t of ['EXPR', 'AU', 'VA'] as const) expect(maxDiff(g[t], ref[t])).toBeLessThan(1e-5);
      tf.dispose([ref.EXPR, ref.AU, ref.VA]);
      expect(g.EXPR.shape).toEqual([1, 3, 7]);
      expect(g.AU.shape).toEqual([1, 3, 8]);
      expect(g.VA.shape).toEqual([1, 3, 40]);
      tf.dispose([window.EXPR, window.AU, window.VA, g.EXPR, g.AU, g.VA]);
      disposeCnnOutput(a);
      disposeCnnOutput(b);
      model.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('releases the unfolded weights after folding unless asked to keep them', () => {
    const before = tf.memory().numTensors;
    const model = SeedModel.fromWeights(initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn', dims: small }));
    expect(() => model.cnnFeatures(faces, 'unfolded')).toThrow(/keepUnfolded/);
    const unfoldedOnly = SeedModel.fromWeights(initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn', dims: small }), { fold: false });
    expect(() => unfoldedOnly.cnnFeatures(faces, 'folded')).toThrow(/fold: false/);
    const out = unfoldedOnly.cnnFeatures(faces);
    disposeCnnOutput(out);
    model.dispose();
    unfoldedOnly.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad inputs, GRU calls on a CNN model, and use after dispose, with typed errors', () => {
    const before = tf.memory().numTensors;
    const cnn = SeedModel.fromWeights(initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn', dims: small }));
    const grey = tf.zeros([1, 112, 112, 1]) as Tensor4D;
    expect(() => cnn.cnnFeatures(grey)).toThrow(SeedModelError);
    const f = tf.zeros([1, 4, 16]) as Tensor3D;
    expect(() => cnn.gruHeads({ EXPR: f, AU: f, VA: f })).toThrow(/cnn-rnn/);
    cnn.dispose();
    expect(() => cnn.cnnFeatures(faces)).toThrow(/after dispose/);
    const rnn = SeedModel.fromWeights(initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims: small }));
    const wrong = tf.zeros([1, 4, 12]) as Tensor3D;
    expect(() => rnn.gruHeads({ EXPR: f, AU: wrong, VA: f })).toThrow(/AU features must be \[1, 4, 16\]/);
    rnn.dispose();
    tf.dispose([grey, f, wrong]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses weights of the wrong kind or with a missing tensor, and frees them', () => {
    const before = tf.memory().numTensors;
    const w = initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn', dims: small });
    w.weights.get('heads/VA/bn0/gamma')?.dispose();
    w.weights.delete('heads/VA/bn0/gamma');
    let err: unknown;
    try {
      SeedModel.fromWeights({ ...w, kind: 'cnn-rnn' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelWeightsError);
    const problems = (err as ModelWeightsError).problems.map((p) => `${p.kind} ${p.name}`);
    expect(problems).toContain('missing heads/VA/bn0/gamma');
    expect(problems).toContain('model-kind gru heads');
    expect(problems).toContain('missing gru/EXPR/gru/forward/kernel_ih');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('full-width shapes: ResNet-50 → 2048-d and compact → 512-d features at 112×112', () => {
    const before = tf.memory().numTensors;
    const one = tf.slice(faces, [0, 0, 0, 0], [1, -1, -1, -1]);
    for (const arch of ['resnet50-caffe', 'compact'] as const) {
      const model = SeedModel.fromWeights(initSeedWeights({ arch, kind: 'cnn' }));
      const f = model.backbone(one);
      expect(f.shape).toEqual([1, arch === 'compact' ? 512 : 2048]);
      expect(model.featureDim).toBe(arch === 'compact' ? 512 : 2048);
      f.dispose();
      model.dispose();
    }
    one.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
