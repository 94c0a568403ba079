/**
 * The CNN-RNN stage: a CNN model directory imported and frozen, GRU heads trained on per-video
 * windows, a distilled student; the result is a cnn-rnn model directory `daemon predict` runs,
 * and the frozen CNN's weights are unchanged in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticAffWild2 } from '../../src/train/data/synthetic.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildPlan } from '../../src/train/build-plan.js';
import { runTraining } from '../../src/train/run-training.js';
import { selectTrainingBackend } from '../../src/train/engine/train-backend.js';
import { compactDims, TrainableNet } from '../../src/train/nets/trainable-net.js';
import { saveModelDir } from '../../src/models/seed/model-dir.js';
import { MANIFEST_FORMAT_VERSION, seedInputSpec, seedTaskSpec } from '../../src/models/seed/manifest.js';
import { readMemberWeights } from '../../src/train/nets/member-weights.js';
import { predict } from '../../src/predict/predict.js';
import { tf } from '../../src/models/tf.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-rnn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon train, kind cnn-rnn', () => {
  it('trains GRU heads on a frozen CNN and writes a cnn-rnn model directory', async () => {
    await selectTrainingBackend('wasm');
    const data = await writeSyntheticAffWild2({ root: path.join(dir, 'data'), seed: 4, trainVideos: 6, valVideos: 2, framesPerVideo: 16 });
    const cnnDir = path.join(dir, 'cnn');
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 2);
    const w = net.exportWeights();
    net.dispose();
    await saveModelDir(
      cnnDir,
      {
        formatVersion: MANIFEST_FORMAT_VERSION, id: 'test-cnn', version: '1', architecture: 'compact', kind: 'cnn', input: seedInputSpec(), tasks: seedTaskSpec(new Array<number>(8).fill(0.5)),
        members: [{ name: 'student_0', role: 'student', weights: 'student_0.json' }],
        provenance: { source: 'random test weights', trainingData: [], createdAt: new Date().toISOString(), tool: 'test' },
      },
      new Map([['student_0', w]]),
    );
    tf.dispose([...w.values()]);
    const out = path.join(dir, 'rnn');
    const plan = await buildPlan(
      parseTrainConfig({
        out, kind: 'cnn-rnn', arch: 'compact', width: 0.125, cnn: { dir: cnnDir }, seqLen: 8, batch: 3,
        teacher: { from: 'train', epochs: 1 }, students: { count: 1, epochs: 1 }, optimizer: { lr: 1e-3 },
        data: { sources: [{ kind: 'aff-wild2', annotations: data.annotations, images: data.images }] },
      }),
    );
    const res = await runTraining(plan, { resume: false });
    expect(res.manifest.kind).toBe('cnn-rnn');
    expect(res.manifest.seqLen).toBe(8);
    expect(res.history.map((h) => h.phase)).toEqual(['teacher', 'student_0']);
    const before = await readMemberWeights(cnnDir);
    const after = await readMemberWeights(out);
    expect(after.kind).toBe('cnn-rnn');
    for (const name of ['backbone/conv1/kernel', 'heads/AU/bn0/moving_mean', 'heads/VA/fc_0/kernel']) {
      expect(Array.from(after.weights.get(name)?.dataSync() ?? [])).toEqual(Array.from(before.weights.get(name)?.dataSync() ?? [1]));
    }
    tf.dispose([...before.weights.values(), ...after.weights.values()]);
    const s = await predict({ model: out, input: path.join(data.images, data.videos.val[0] ?? ''), out: path.join(dir, 'rows.jsonl'), backend: 'wasm' });
    expect(s.kind).toBe('cnn-rnn');
    expect(s.rows).toBe(s.frames);
  }, 300_000);
});
