import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/media.js';
import { selectBackend } from '../models/backend.js';
import { tf } from '../models/tf.js';
import { AU_THRESHOLDS } from '../models/seed/constants.js';
import { ModelWeightsError } from '../models/seed/errors.js';
import { importSeedCheckpoints } from './import-seed.js';
import { disposeCnnOutput } from '../models/seed/model.js';
import { loadModelDir } from '../models/seed/model-dir.js';
import { preprocessFacePixelsBatch } from '../models/seed/preprocess.js';
import { readPng } from '../../test/helpers/read-png.js';

const fixtures = path.join(repoRoot, 'test/fixtures/seed');
const expected = JSON.parse(await readFile(path.join(fixtures, 'expected.json'), 'utf8')) as {
  cnn: { members: { outputs: { '134': { au_logits: number[] }[] } }[] };
};

describe('importSeedCheckpoints', () => {
  let dir: string;
  let baseline = 0;
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  beforeEach(async () => {
    baseline = tf.memory().numTensors;
    dir = await mkdtemp(path.join(tmpdir(), 'seed-import-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    expect(tf.memory().numTensors).toBe(baseline);
  });

  const base = {
    id: 'seed-cnn-fixture',
    version: '0.0.1',
    source: 'tools/seed_reference.py reduced-width reference models',
    trainingData: ['none (random, calibrated)'],
    tool: 'import-seed.test',
    now: new Date('2026-11-27T00:00:00Z'),
  };

  it('writes a model directory that loads and reproduces the PyTorch logits', async () => {
    const manifest = await importSeedCheckpoints({
      ...base,
      outDir: dir,
      kind: 'cnn',
      members: [
        { name: 'student_0', role: 'student', file: path.join(fixtures, 'cnn_member0.pth') },
        { name: 'student_1', role: 'student', file: path.join(fixtures, 'cnn_member1_legacy.pth') },
      ],
    });
    const sha = createHash('sha256').update(await readFile(path.join(fixtures, 'cnn_member0.pth'))).digest('hex');
    expect(manifest.provenance.importedFrom?.[0]).toEqual({ file: 'cnn_member0.pth', sha256: sha });
    expect(manifest.tasks.AU?.thresholds).toEqual([...AU_THRESHOLDS.cnn]);
    const loaded = await loadModelDir(dir);
    try {
      expect(loaded.members.map((m) => m.name)).toEqual(['student_0', 'student_1']);
      const faces = preprocessFacePixelsBatch([readPng(path.join(fixtures, 'faces/face0_134.png'))]);
      for (const [i, m] of loaded.members.entries()) {
        const out = m.model.cnnFeatures(faces);
        const got = out.logits.AU.dataSync();
        const want = expected.cnn.members[i]?.outputs['134'][0]?.au_logits ?? [];
        expect(Math.max(...want.map((v, j) => Math.abs(v - (got[j] ?? NaN))))).toBeLessThan(1e-4);
        disposeCnnOutput(out);
      }
      faces.dispose();
    } finally {
      loaded.dispose();
    }
  });

  it('refuses checkpoints of the wrong kind, naming the member, and writes nothing', async () => {
    let err: unknown;
    try {
      await importSeedCheckpoints({ ...base, outDir: dir, kind: 'cnn', members: [{ name: 'student_0', role: 'student', file: path.join(fixtures, 'cnn_rnn_member0.pth') }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelWeightsError);
    expect((err as ModelWeightsError).problems[0]?.name).toMatch(/^student_0: /);
    await expect(readFile(path.join(dir, 'manifest.json'))).rejects.toThrow();
  });
});
