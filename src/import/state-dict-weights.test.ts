import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/media.js';
import type { StateDict, TorchTensor } from './checkpoint/types.js';
import { selectBackend } from '../models/backend.js';
import { tf } from '../models/tf.js';
import { defaultDims, seedParams, type SeedDims, type SeedKind } from '../models/seed/architecture.js';
import { ModelWeightsError, type WeightProblem } from '../models/seed/errors.js';
import { scaledResNet50Dims } from '../models/seed/resnet50-layers.js';
import { disposeWeights } from '../models/seed/weights.js';
import { stateDictToWeights } from './state-dict-weights.js';

const small: SeedDims = { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(32) }, hidden: 8, gruHidden: 4 };

/** A synthetic state dict in the seed's key order, element i of each tensor = i (to check transposes). */
function syntheticStateDict(kind: SeedKind, dims: SeedDims): Map<string, TorchTensor> {
  const sd = new Map<string, TorchTensor>();
  for (const p of seedParams(kind, dims)) {
    const n = p.torchShape.reduce((a, b) => a * b, 1);
    sd.set(p.torch, { dtype: 'float32', shape: p.torchShape, data: Float32Array.from({ length: n }, (_, i) => i) });
    if (p.torch.endsWith('.running_var')) {
      sd.set(p.torch.replace(/running_var$/, 'num_batches_tracked'), { dtype: 'int64', shape: [], data: new BigInt64Array([7n]) });
    }
  }
  return sd;
}

function catchWeightsError(f: () => unknown): ModelWeightsError {
  try {
    f();
  } catch (err) {
    if (err instanceof ModelWeightsError) return err;
    throw err;
  }
  throw new Error('expected a ModelWeightsError');
}

describe('stateDictToWeights', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('names exactly the released checkpoints keys and shapes (full width, both kinds)', () => {
    for (const [kind, file] of [['cnn', 'keys_full_cnn.json'], ['cnn-rnn', 'keys_full_cnn_rnn.json']] as const) {
      const keys = (JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/seed', file), 'utf8')) as { key: string; shape: number[] }[]).filter(
        (k) => !k.key.endsWith('num_batches_tracked'),
      );
      const ours = seedParams(kind, defaultDims('resnet50-caffe'));
      // Same keys in the same (registration) order, same shapes.
      expect(ours.map((p) => p.torch)).toEqual(keys.map((k) => k.key));
      expect(ours.map((p) => [...p.torchShape])).toEqual(keys.map((k) => k.shape));
    }
  });

  for (const kind of ['cnn', 'cnn-rnn'] as const) {
    it(`maps a ${kind} state dict, transposing conv, linear and GRU matrices`, () => {
      const before = tf.memory().numTensors;
      const sd = syntheticStateDict(kind, small);
      const w = stateDictToWeights(sd, { kind });
      expect(w.kind).toBe(kind);
      expect(w.dims.backbone).toEqual(small.backbone);
      expect(w.dims.hidden).toBe(small.hidden);
      if (kind === 'cnn-rnn') expect(w.dims.gruHidden).toBe(small.gruHidden);
      // conv [out,in,kh,kw] → [kh,kw,in,out]: tf[h][w][i][o] = torch[o][i][h][w]
      const prefix = kind === 'cnn-rnn' ? 'backbone.' : '';
      const convTorch = sd.get(`${prefix}backbone.model.conv2_1_3x3.weight`);
      const conv = w.weights.get('backbone/conv2_1_3x3/kernel');
      expect(conv?.shape).toEqual([3, 3, 2, 2]);
      const [o, i, h, x] = [1, 0, 2, 1];
      const torchIdx = ((o * 2 + i) * 3 + h) * 3 + x;
      expect((conv?.arraySync() as number[][][][])[h]?.[x]?.[i]?.[o]).toBe(convTorch?.data[torchIdx]);
      // linear [out,in] → [in,out]
      const fc = w.weights.get('heads/AU/fc_1/kernel');
      expect(fc?.shape).toEqual([8, 8]);
      expect((fc?.arraySync() as number[][])[3]?.[5]).toBe(5 * 8 + 3);
      if (kind === 'cnn-rnn') {
        expect(w.weights.get('gru/VA/gru/backward/kernel_ih')?.shape).toEqual([8, 12]);
        expect(w.weights.get('gru/VA/fc_1/kernel')?.shape).toEqual([8, 40]);
      }
      expect(w.weights.size).toBe(seedParams(kind, small).length);
      disposeWeights(w.weights);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('reports missing, unexpected and mis-shaped keys together, and allocates nothing', () => {
    const before = tf.memory().numTensors;
    const sd = syntheticStateDict('cnn', small);
    sd.delete('backbone.model.conv3_2_3x3.weight');
    sd.delete('classifier.1.bn1.running_var');
    sd.set('classifier.3.fc_0.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) });
    sd.set('classifier.0.fc_1.weight', { dtype: 'float32', shape: [6, 8], data: new Float32Array(48) });
    sd.set('backbone.model.conv1_7x7_s2_bn.weight', { dtype: 'int64', shape: [2], data: new BigInt64Array(2) });
    const err = catchWeightsError(() => stateDictToWeights(sd as StateDict, { kind: 'cnn', source: 'member0.pth' }));
    expect(err.code).toBe('VA_ERR_MODEL_WEIGHTS');
    const brief = err.problems.map((p: WeightProblem) => `${p.kind} ${p.name}`);
    expect(brief).toEqual(
      expect.arrayContaining([
        'missing backbone.model.conv3_2_3x3.weight',
        'missing classifier.1.bn1.running_var',
        'unexpected classifier.3.fc_0.weight',
        'shape classifier.0.fc_1.weight',
        'dtype backbone.model.conv1_7x7_s2_bn.weight',
      ]),
    );
    expect(err.problems).toHaveLength(5);
    expect(err.message).toContain('member0.pth');
    expect(err.message).toContain('shape mismatch classifier.0.fc_1.weight: expected [7,8], got [6,8]');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a checkpoint of the other kind', () => {
    const seq = syntheticStateDict('cnn-rnn', small);
    const err = catchWeightsError(() => stateDictToWeights(seq, { kind: 'cnn' }));
    expect(err.problems[0]).toMatchObject({ kind: 'model-kind', expected: 'cnn', actual: 'cnn-rnn' });
    const cnn = syntheticStateDict('cnn', small);
    const err2 = catchWeightsError(() => stateDictToWeights(cnn, { kind: 'cnn-rnn' }));
    expect(err2.problems[0]).toMatchObject({ kind: 'model-kind', expected: 'cnn-rnn', actual: 'cnn' });
  });

  it('reports an inconsistent width (a block built for another width) as a shape mismatch', () => {
    const sd = syntheticStateDict('cnn', small);
    const key = 'backbone.model.conv4_3_1x1_reduce.weight';
    sd.set(key, { dtype: 'float32', shape: [8, 16, 1, 1], data: new Float32Array(128) });
    const err = catchWeightsError(() => stateDictToWeights(sd, { kind: 'cnn' }));
    expect(err.problems).toEqual([{ kind: 'shape', name: key, expected: [8, 32, 1, 1], actual: [8, 16, 1, 1] }]);
  });
});
