/**
 * Distillation on unlabelled video (issue 10): a packaged expression model labels the faces the
 * daemon's own stages find and align; a compact student (CNN, then CNN-RNN on the frozen CNN)
 * learns those soft labels alone and is written as an expressions-only model directory that the
 * daemon's runtime loads and decodes without AU or VA. The CNN student trains on ONNX Runtime's
 * gradients (one task batch per step), as `daemon train` does by default; the GRU heads on TF.js.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAffectRunner } from '../../src/models/affect/affect-runner.js';
import { EXPR_LABELS } from '../../src/models/seed/constants.js';
import { tf } from '../../src/models/tf.js';
import { buildPlan } from '../../src/train/build-plan.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { selectTrainingBackend } from '../../src/train/engine/train-backend.js';
import { runTraining } from '../../src/train/run-training.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-distill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const teacher = path.join(repoRoot, 'config', 'models', 'default-expressions');
const cache = path.join(dir, 'faces');

const jsonl = (file: string): { folder: string; frame: number; p: number[] }[] =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { folder: string; frame: number; p: number[] });

describe('daemon train on unlabelled video with a packaged teacher', () => {
  it('labels the faces with the teacher, trains an expressions-only CNN student, then GRU heads on it', async () => {
    await selectTrainingBackend('wasm');
    const tensors0 = tf.memory().numTensors;
    const cnnOut = path.join(dir, 'student-cnn');
    const common = {
      arch: 'compact', width: 0.125, batch: 4, optimizer: { lr: 1e-3 }, seed: 3,
      teacher: { from: 'model-dir', dir: teacher }, students: { count: 1, epochs: 1 },
    };
    const logs: string[] = [];
    const plan = await buildPlan(
      parseTrainConfig({ ...common, out: cnnOut, kind: 'cnn', data: { sources: [{ kind: 'unlabelled', inputs: [media('single_face.mp4')], val: [media('multi_face.jpg')], cache, every: 4 }] } }),
      { log: (l) => logs.push(l) },
    );
    expect(logs.join('\n')).toMatch(/teacher default-expressions 1 \(packaged-expression/);
    expect(plan.data.softTeacher).toMatch(/default-expressions/);
    const [expr] = plan.data.tasks;
    expect(plan.data.tasks.map((t) => t.task)).toEqual(['EXPR']);
    // single_face.mp4: 72 frames of one face, every 4th kept; multi_face.jpg: five faces.
    expect(expr?.train.length).toBeGreaterThanOrEqual(15);
    expect(expr?.train.length).toBeLessThanOrEqual(18);
    expect(expr?.val.length).toBe(5);
    for (const f of [...(expr?.train ?? []), ...(expr?.val ?? [])]) {
      expect(existsSync(f.image)).toBe(true);
      expect(f.expr).toBeUndefined();
      expect(f.exprSoft?.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    // The teacher saw its own crop of each face: the five smiling people of multi_face.jpg are Happiness.
    const softFile = readdirSync(cache).find((n) => n.startsWith('multi_face.soft.'));
    expect(softFile).toBeDefined();
    const rows = jsonl(path.join(cache, softFile ?? ''));
    const happy = rows.filter((r) => r.p.indexOf(Math.max(...r.p)) === EXPR_LABELS.indexOf('Happiness')).length;
    expect(happy).toBeGreaterThanOrEqual(4);

    const res = await runTraining(plan, { resume: false, engine: 'onnx' });
    expect(res.manifest.tasks.AU).toBeUndefined();
    expect(res.manifest.tasks.VA).toBeUndefined();
    expect(res.manifest.provenance.source).toMatch(/distilled \(KL at T = 1.5, expressions only, no ground truth\) from the teacher default-expressions/);
    expect(res.manifest.provenance.metrics?.['ensemble.agreement']).toBeGreaterThanOrEqual(0);
    expect(res.history[0]?.val['kl']).toBeGreaterThan(0);

    // A second run on the same cache reuses the aligned, labelled faces (and still needs no labels).
    const rnnOut = path.join(dir, 'student-rnn');
    const rnnLogs: string[] = [];
    const rnnPlan = await buildPlan(
      parseTrainConfig({ ...common, out: rnnOut, kind: 'cnn-rnn', cnn: { dir: cnnOut }, seqLen: 8, batch: 2, data: { sources: [{ kind: 'unlabelled', inputs: [media('single_face.mp4')], cache }] } }),
      { log: (l) => rnnLogs.push(l), align: { videoSkipped: (v, why) => rnnLogs.push(`${v}: ${why}`) } },
    );
    expect(rnnLogs).toContain('single_face: already aligned and labelled');
    expect(rnnPlan.data.tasks[0]?.train.length).toBeGreaterThanOrEqual(60); // every frame for windows
    const rnn = await runTraining(rnnPlan, { resume: false, engine: 'onnx' });
    expect(rnn.manifest.kind).toBe('cnn-rnn');
    expect(rnn.manifest.tasks.AU).toBeUndefined();

    // The daemon's runtime decodes the students without AU or VA.
    for (const out of [cnnOut, rnnOut]) {
      const runner = await loadAffectRunner(out, { engine: 'tfjs', includeMembers: false });
      try {
        const face = { data: new Uint8Array(112 * 112 * 3).fill(128), width: 112, height: 112 };
        const caches = await runner.runCnn([face]);
        const [frame] = runner.decideCnn(caches);
        expect(frame?.expr.probabilities.length).toBe(7);
        expect(frame?.au).toBeUndefined();
        expect(frame?.va).toBeUndefined();
        if (runner.kind === 'cnn-rnn') {
          const [win] = await runner.runWindows([Array.from({ length: runner.seqLen }, () => caches[0]!)]);
          expect(win?.[0]?.au).toBeUndefined();
          expect(win?.[0]?.va).toBeUndefined();
        }
      } finally {
        await runner.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(tensors0);
  }, 400_000);

  it('refuses a held-out file that is also a training file', async () => {
    const c = parseTrainConfig({
      out: path.join(dir, 'x'), teacher: { from: 'model-dir', dir: teacher }, students: { count: 1 },
      data: { sources: [{ kind: 'unlabelled', inputs: [mediaDir], val: [media('single_face.mp4')], cache }] },
    });
    await expect(buildPlan(c)).rejects.toThrow(/the name single_face appears twice among training and held-out media/);
  });

  it('refuses unlabelled data without a model-directory teacher, and mixed with labelled data', () => {
    const src = { kind: 'unlabelled', inputs: ['a.mp4'], cache: 'c' };
    expect(() => parseTrainConfig({ out: 'o', data: { sources: [src] } })).toThrow(/teacher.from: unlabelled data needs teacher.from: model-dir/);
    expect(() =>
      parseTrainConfig({ out: 'o', teacher: { from: 'model-dir', dir: 't' }, students: { count: 1 }, data: { sources: [src, { kind: 'manifest', train: 't.jsonl' }] } }),
    ).toThrow(/cannot be mixed with labelled ones/);
  });
});
