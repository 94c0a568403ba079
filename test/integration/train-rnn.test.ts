/**
 * The CNN-RNN stage: a CNN model directory imported and frozen, GRU heads trained on per-video
 * windows, a distilled student; the result is a cnn-rnn model directory `daemon predict` runs,
 * the frozen CNN's weights are unchanged in it, and its GRU heads learnt: on the held-out videos
 * of the synthetic data (labels visible in the pixels) it beats the same CNN with the fresh GRU
 * heads it started from. The CNN is trained first (two epochs): GRU heads on a random CNN's
 * features learn nothing measurable.
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
import { TrainableNet } from '../../src/train/nets/trainable-net.js';
import { readMemberWeights } from '../../src/train/nets/member-weights.js';
import { predict } from '../../src/predict/predict.js';
import { tf } from '../../src/models/tf.js';
import { SeedModel } from '../../src/models/seed/model.js';
import { videoWindows } from '../../src/train/data/sequence-windows.js';
import type { FaceBatchLoader } from '../../src/train/data/types.js';
import { collectOutputs, scoreOutputs, type TaskScores, type ValSet } from '../../src/train/loop/validate.js';
import type { SeedWeights } from '../../src/models/seed/weights.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-rnn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Held-out scores as the run's validation computes them (eval mode, AU threshold 0.5, S = EXPR + AU + CCC_v + CCC_a). */
async function heldOut(w: SeedWeights, val: readonly ValSet[], loader: FaceBatchLoader, seqLen: number): Promise<TaskScores> {
  const model = SeedModel.fromWeights(w);
  try {
    return scoreOutputs(await collectOutputs(model, val, loader, Math.max(1, Math.floor(64 / seqLen)), seqLen));
  } finally {
    model.dispose();
  }
}

describe('daemon train, kind cnn-rnn', () => {
  it('trains GRU heads on a frozen CNN that beat their fresh start on held-out videos, and writes a cnn-rnn model directory', async () => {
    await selectTrainingBackend('wasm');
    const data = await writeSyntheticAffWild2({ root: path.join(dir, 'data'), seed: 4, trainVideos: 8, valVideos: 3, framesPerVideo: 24 });
    const sources = [{ kind: 'aff-wild2', annotations: data.annotations, images: data.images }];
    const common = { arch: 'compact', width: 0.125, seed: 2, balance: { AU: 'none', EXPR: 'none', VA: 'none' }, data: { sources } };
    const cnnDir = path.join(dir, 'cnn');
    const cnnPlan = await buildPlan(parseTrainConfig({ ...common, out: cnnDir, kind: 'cnn', batch: 8, optimizer: { lr: 3e-3 }, teacher: { from: 'train', epochs: 2 }, students: { count: 0 } }));
    await runTraining(cnnPlan, { resume: false, engine: 'onnx' });
    const out = path.join(dir, 'rnn');
    const seqLen = 8;
    const plan = await buildPlan(
      parseTrainConfig({
        ...common, out, kind: 'cnn-rnn', cnn: { dir: cnnDir }, seqLen, batch: 3,
        teacher: { from: 'train', epochs: 2 }, students: { count: 1, epochs: 1 }, optimizer: { lr: 2e-3 },
      }),
    );
    const res = await runTraining(plan, { resume: false });
    expect(res.manifest.kind).toBe('cnn-rnn');
    expect(res.manifest.seqLen).toBe(8);
    expect(res.history.map((h) => h.phase)).toEqual(['teacher', 'teacher', 'student_0']);
    // The GRU teacher's training loss (EXPR CE + 8·AU BCE + VA CCC terms) falls from its first epoch to its second.
    const [first, second] = res.history;
    expect(second?.loss ?? Infinity).toBeLessThan((first?.loss ?? 0) * 0.9);

    // Held out: the validation videos' windows, scored as the run scores them. The fresh start is
    // the written member's own: the same frozen CNN with GRU heads initialised from student_0's
    // seed (run-training seeds member k with 7919·seed + 1009·k + 1; the teacher is k = 0).
    const val: ValSet[] = plan.data.tasks.map((t) => ({ task: t.task, units: videoWindows(t.val, seqLen, seqLen) }));
    const trained = await heldOut(await readMemberWeights(out), val, plan.data.loader, seqLen);
    const cnnW = await readMemberWeights(cnnDir);
    const freshNet = TrainableNet.withFreshGru(cnnW, 2 * 7919 + 1009 + 1);
    tf.dispose([...cnnW.weights.values()]);
    const fresh = await heldOut({ arch: freshNet.arch, kind: freshNet.kind, dims: freshNet.dims, weights: freshNet.exportWeights() }, val, plan.data.loader, seqLen);
    freshNet.dispose();
    const fmt = (x: TaskScores): string => ['S', 'expr_f1', 'au_f1', 'ccc_valence', 'ccc_arousal'].map((k) => `${k} ${(x[k] ?? NaN).toFixed(3)}`).join(', ');
    console.log(`held-out windows: trained ${fmt(trained)}; fresh GRU heads ${fmt(fresh)}`);
    // Measured (seed 2, JPEG frames decoded as PIL decodes them): S 1.13 against 0.37 for the fresh
    // heads; VA CCC (valence, arousal) 0.04 and 0.27 against 0.01 and 0.01. Which of the two this
    // small run learns follows one-level pixel differences (FFmpeg's decode of the same frames gave
    // 0.33 and −0.02), so the VA assertion is on their mean: 0.156 with either decoder.
    expect(trained['S']).toBeGreaterThan((fresh['S'] ?? 0) + 0.2);
    const vaCcc = (x: TaskScores): number => ((x['ccc_valence'] ?? 0) + (x['ccc_arousal'] ?? 0)) / 2;
    expect(vaCcc(trained)).toBeGreaterThan(Math.max(0, vaCcc(fresh)) + 0.1);

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
