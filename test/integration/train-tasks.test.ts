/**
 * A model offers only what it learnt: a run without AU and VA data (or a teacher for them) writes
 * an expressions-only model directory, and a run that would teach only one of AU / VA, or distil
 * AU / VA from a teacher that never learnt them, stops before training.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAffectModel } from '../../src/models/affect/open-affect-model.js';
import { buildPlan } from '../../src/train/build-plan.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { writeSyntheticAffWild2, type SyntheticAffWild2 } from '../../src/train/data/synthetic.js';
import { selectTrainingBackend } from '../../src/train/engine/train-backend.js';
import { runTraining } from '../../src/train/run-training.js';
import { repoRoot } from '../helpers/media.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-tasks-'));
let data: SyntheticAffWild2;
beforeAll(async () => {
  await selectTrainingBackend('wasm');
  data = await writeSyntheticAffWild2({ root: path.join(dir, 'data'), seed: 2, trainVideos: 4, valVideos: 1, framesPerVideo: 8 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (out: string, tasks: string[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  out, arch: 'compact', width: 0.125, batch: 4, teacher: { from: 'train', epochs: 1 }, students: { count: 1, epochs: 1 },
  balance: { AU: 'none', EXPR: 'none', VA: 'none' },
  data: { sources: [{ kind: 'aff-wild2', annotations: data.annotations, images: data.images, tasks }] },
  ...extra,
});

describe('daemon train offers only the tasks it taught', () => {
  it('writes an expressions-only model from EXPR labels alone, and the runtime decodes no AU or VA', async () => {
    const out = path.join(dir, 'expr');
    const res = await runTraining(await buildPlan(parseTrainConfig(config(out, ['EXPR']))), { resume: false });
    expect(res.manifest.tasks.AU).toBeUndefined();
    expect(res.manifest.tasks.VA).toBeUndefined();
    expect(res.manifest.provenance.source).toMatch(/expressions only \(no AU \/ VA data or teacher\)/);
    const runner = await openAffectModel(out, { placement: 'thread', backend: 'auto', engine: 'tfjs' });
    try {
      const [frame] = runner.decideCnn(await runner.runCnn([{ data: new Uint8Array(112 * 112 * 3).fill(90), width: 112, height: 112 }]));
      expect(frame?.au).toBeUndefined();
      expect(frame?.va).toBeUndefined();
    } finally {
      await runner.close();
    }
  }, 120_000);

  it('refuses AU without VA before training', async () => {
    const plan = await buildPlan(parseTrainConfig(config(path.join(dir, 'au'), ['EXPR', 'AU'])));
    await expect(runTraining(plan, { resume: false })).rejects.toThrow(/AU training data without VA: a model provides AU and VA together or neither/);
  });

  it('refuses to distil AU and VA from an expressions-only teacher', async () => {
    const teacher = path.join(repoRoot, 'config', 'models', 'student-expressions');
    const plan = await buildPlan(parseTrainConfig(config(path.join(dir, 'from-student'), ['EXPR', 'AU', 'VA'], { width: 0.25, teacher: { from: 'model-dir', dir: teacher } })));
    await expect(runTraining(plan, { resume: false })).rejects.toThrow(/provides expressions only: its AU and VA heads were never trained/);
  });
});
