import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { tf, type Tensor, type Tensor4D } from '../tf.js';
import type { SeedDims } from './architecture.js';
import { ModelManifestError, ModelWeightsError, SeedModelError } from './errors.js';
import { initSeedWeights } from './init.js';
import { SeedModel, disposeCnnOutput } from './model.js';
import { loadModelDir, saveModelDir } from './model-dir.js';
import { scaledResNet50Dims } from './resnet50-layers.js';
import { exampleManifest } from '../../../test/helpers/example-manifest.js';
import { disposeWeights } from './weights.js';

const dims: SeedDims = { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(32) }, hidden: 8, gruHidden: 4 };

describe('model directory', () => {
  let dir: string;
  let members: Map<string, Map<string, Tensor>>;
  let faces: Tensor4D;
  let baseline = 0;

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  beforeEach(async () => {
    baseline = tf.memory().numTensors;
    dir = await mkdtemp(path.join(tmpdir(), 'seed-model-dir-'));
    members = new Map([
      ['teacher', initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims, bn: 'random', seed: 1 }).weights],
      ['student_0', initSeedWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims, bn: 'random', seed: 1000 }).weights],
    ]);
    faces = tf.randomNormal([2, 112, 112, 3], 0, 40, 'float32', 9) as Tensor4D;
  });

  afterEach(async () => {
    for (const w of members.values()) disposeWeights(w);
    faces.dispose();
    await rm(dir, { recursive: true, force: true });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  async function expectReject<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
    try {
      const r = (await p) as { dispose?: () => void };
      r.dispose?.();
    } catch (err) {
      expect(err).toBeInstanceOf(type);
      return err as E;
    }
    throw new Error('expected a rejection');
  }

  it('round-trips: saved members load with the same outputs and the manifest intact', async () => {
    const manifest = exampleManifest();
    await saveModelDir(dir, manifest, members);
    const weightsJson = JSON.parse(await readFile(path.join(dir, 'student_0.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string }[] }[] };
    expect(weightsJson.weightsManifest[0]?.paths).toEqual(['student_0.bin']);
    expect(weightsJson.weightsManifest[0]?.weights.some((w) => w.name === 'gru/AU/gru/backward/kernel_hh')).toBe(true);

    const loaded = await loadModelDir(dir);
    try {
      expect(loaded.manifest).toEqual(manifest);
      expect(loaded.members.map((m) => [m.name, m.role])).toEqual([['teacher', 'teacher'], ['student_0', 'student']]);
      for (const m of loaded.members) {
        const w = members.get(m.name);
        if (w === undefined) throw new Error('member');
        // Reference: the same weights (cloned) in a fresh model.
        const ref = SeedModel.fromWeights({ arch: 'resnet50-caffe', kind: 'cnn-rnn', dims, weights: new Map([...w].map(([n, t]) => [n, tf.clone(t)])) });
        const a = m.model.cnnFeatures(faces);
        const b = ref.cnnFeatures(faces);
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a.logits.VA, b.logits.VA))).dataSync()[0])).toBe(0);
        disposeCnnOutput(a);
        disposeCnnOutput(b);
        ref.dispose();
      }
    } finally {
      loaded.dispose();
      loaded.dispose();
    }
  });

  it('refuses to save weights that do not match the manifest', async () => {
    await expectReject(saveModelDir(dir, exampleManifest({ kind: 'cnn', seqLen: undefined }), members), ModelWeightsError);
    const partial = new Map([...members].filter(([n]) => n === 'teacher'));
    const err = await expectReject(saveModelDir(dir, exampleManifest(), partial), ModelWeightsError);
    expect(err.message).toContain('student_0');
  });

  it('names a missing manifest, a broken manifest and a missing weight file with typed errors', async () => {
    expect((await expectReject(loadModelDir(dir), SeedModelError)).code).toBe('VA_ERR_MODEL_FILES');
    await writeFile(path.join(dir, 'manifest.json'), '{ not json');
    expect((await expectReject(loadModelDir(dir), ModelManifestError)).code).toBe('VA_ERR_MODEL_MANIFEST');

    await saveModelDir(dir, exampleManifest(), members);
    await unlink(path.join(dir, 'student_0.bin'));
    await unlink(path.join(dir, 'teacher.json'));
    const err = await expectReject(loadModelDir(dir), SeedModelError);
    expect(err.code).toBe('VA_ERR_MODEL_FILES');
    expect(err.message).toContain('teacher.json');
    expect(err.message).toContain('student_0.bin');
  });

  it('rejects weights whose names or shapes do not fit the architecture, naming each', async () => {
    await saveModelDir(dir, exampleManifest(), members);
    const file = path.join(dir, 'teacher.json');
    const json = JSON.parse(await readFile(file, 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    const entries = json.weightsManifest[0]?.weights ?? [];
    const renamed = entries.find((e) => e.name === 'heads/AU/fc_1/bias');
    if (renamed === undefined) throw new Error('fixture');
    renamed.name = 'heads/AU/fc_2/bias';
    // Same element count, different shape: the bytes still add up, the shape check must catch it.
    const reshaped = entries.find((e) => e.name === 'heads/EXPR/fc_0/kernel');
    if (reshaped === undefined) throw new Error('fixture');
    reshaped.shape = [...reshaped.shape].reverse();
    await writeFile(file, JSON.stringify(json));
    const err = await expectReject(loadModelDir(dir), ModelWeightsError);
    const brief = err.problems.map((p) => `${p.kind} ${p.name}`);
    expect(brief).toEqual(expect.arrayContaining(['missing teacher: heads/AU/fc_1/bias', 'unexpected teacher: heads/AU/fc_2/bias', 'shape teacher: heads/EXPR/fc_0/kernel']));
    expect(brief.every((b) => b.includes('teacher:'))).toBe(true);
  });

  it('rejects a manifest whose architecture does not match the weights', async () => {
    await saveModelDir(dir, exampleManifest(), members);
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...m, architecture: 'compact' }));
    const err = await expectReject(loadModelDir(dir), ModelWeightsError);
    expect(err.problems.some((p) => p.kind === 'model-kind')).toBe(true);
  });

  it("loads the students only when the manifest does not average the teacher in, without reading the teacher's files", async () => {
    const { ensembleWithTeacher: _, ...studentsOnly } = exampleManifest();
    await saveModelDir(dir, studentsOnly, members);
    await rm(path.join(dir, 'teacher.bin'));
    const loaded = await loadModelDir(dir);
    expect(loaded.members.map((m) => [m.name, m.role])).toEqual([['student_0', 'student']]);
    loaded.dispose();
    // Named explicitly, the teacher is loaded (and its missing file reported).
    expect((await expectReject(loadModelDir(dir, { members: ['teacher'] }), SeedModelError)).message).toContain('teacher');
  });

  it('loads a subset of members and names unknown ones', async () => {
    await saveModelDir(dir, exampleManifest(), members);
    const one = await loadModelDir(dir, { members: ['student_0'] });
    expect(one.members.map((m) => m.name)).toEqual(['student_0']);
    one.dispose();
    expect((await expectReject(loadModelDir(dir, { members: ['student_9'] }), SeedModelError)).message).toContain('student_9');
  });
});
