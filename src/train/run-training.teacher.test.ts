import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../models/backend.js';
import { tf, type Tensor } from '../models/tf.js';
import type { SeedDims } from '../models/seed/architecture.js';
import { initSeedWeights } from '../models/seed/init.js';
import { saveModelDir } from '../models/seed/model-dir.js';
import { scaledResNet50Dims } from '../models/seed/resnet50-layers.js';
import { exampleManifest } from '../../test/helpers/example-manifest.js';
import { disposeWeights } from '../models/seed/weights.js';
import { loadTeacher } from './run-training.js';

const dims: SeedDims = { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(32) }, hidden: 8, gruHidden: 4 };

// `teacher: { from: model-dir }` reads one member of a model directory whatever that directory's
// ensemble averages: an imported seed (teacher + students, students-only ensemble) still teaches
// with its teacher by default, and any member can be named.
describe('teacher: { from: model-dir } picks its member from the whole manifest', () => {
  let dir: string;
  let members: Map<string, Map<string, Tensor>>;
  let baseline = 0;

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  beforeEach(async () => {
    baseline = tf.memory().numTensors;
    dir = await mkdtemp(path.join(tmpdir(), 'train-teacher-'));
    members = new Map([
      ['teacher', initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims, bn: 'random', seed: 1 }).weights],
      ['student_0', initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims, bn: 'random', seed: 1000 }).weights],
    ]);
    // As import-seed writes it by default: the ensemble averages the students only.
    const { ensembleWithTeacher: _, ...studentsOnly } = exampleManifest();
    await saveModelDir(dir, studentsOnly, members);
  });

  afterEach(async () => {
    for (const w of members.values()) disposeWeights(w);
    await rm(dir, { recursive: true, force: true });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  /** Which saved member `raw` came from: the one whose GRU weights it holds. */
  function whose(raw: ReadonlyMap<string, Tensor>): string[] {
    const key = [...(members.get('teacher')?.keys() ?? [])].find((k) => k.startsWith('gru/'));
    if (key === undefined) throw new Error('no gru/ weight in the fixture');
    const got = raw.get(key)?.dataSync();
    return [...members].filter(([, w]) => got !== undefined && tf.util.arraysEqual(w.get(key)?.dataSync() ?? [], got)).map(([n]) => n);
  }

  it('defaults to the teacher, though the ensemble does not average it', async () => {
    const t = await loadTeacher(dir, undefined, 'cnn-rnn', []);
    try {
      expect(whose(t.model.exportWeights().raw)).toEqual(['teacher']);
    } finally {
      t.model.dispose();
    }
  });

  it('loads a named member, teacher or student', async () => {
    for (const name of ['teacher', 'student_0']) {
      const t = await loadTeacher(dir, name, 'cnn-rnn', []);
      try {
        expect(whose(t.model.exportWeights().raw)).toEqual([name]);
      } finally {
        t.model.dispose();
      }
    }
  });

  it('names a member the manifest does not have', async () => {
    await expect(loadTeacher(dir, 'student_9', 'cnn-rnn', [])).rejects.toThrow(/student_9/);
  });
});
