import { describe, expect, it } from 'vitest';
import { AU_THRESHOLDS } from './constants.js';
import { ModelManifestError } from './errors.js';
import { exprOnlyTaskSpec, manifestProvidesAuVa, parseManifest, seedInputSpec, seedTaskSpec } from './manifest.js';
import { exampleManifest } from '../../../test/helpers/example-manifest.js';

function issuesOf(json: unknown): Map<string, string> {
  try {
    parseManifest(json, 'test/manifest.json');
  } catch (err) {
    if (!(err instanceof ModelManifestError)) throw err;
    expect(err.code).toBe('VA_ERR_MODEL_MANIFEST');
    return new Map(err.issues.map((i) => [i.path, i.message]));
  }
  throw new Error('expected the manifest to be rejected');
}

describe('model manifest', () => {
  it('accepts a complete manifest and freezes it', () => {
    const m = parseManifest(exampleManifest());
    expect(m.members).toHaveLength(2);
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.tasks.AU?.thresholds)).toBe(true);
    const cnn = parseManifest(exampleManifest({ kind: 'cnn', seqLen: undefined, tasks: seedTaskSpec(AU_THRESHOLDS.cnn) }));
    expect(cnn.seqLen).toBeUndefined();
  });

  it('names every bad field in one error', () => {
    const bad = {
      ...exampleManifest(),
      formatVersion: 2,
      id: 'Seed Model',
      architecture: 'resnet101',
      seqLen: undefined,
      input: { ...seedInputSpec(), size: 224, colour: 'BGR' },
      tasks: {
        ...seedTaskSpec(AU_THRESHOLDS.cnn),
        EXPR: { labels: ['Neutral', 'Happy'] },
        AU: { labels: seedTaskSpec(AU_THRESHOLDS.cnn).AU?.labels, thresholds: [0.1, 1.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] },
      },
      members: [
        { name: 'student_0', role: 'pupil', weights: 'a.json' },
        { name: 'student_0', role: 'student', weights: '../b.json' },
      ],
      provenance: { ...exampleManifest().provenance, createdAt: 'yesterday', trainingData: 'Aff-Wild2' },
      extra: true,
    };
    const issues = issuesOf(bad);
    for (const p of [
      'formatVersion',
      'id',
      'architecture',
      'input.size',
      'input.colour',
      'tasks.EXPR.labels',
      'tasks.AU.thresholds.1',
      'members.0.role',
      'members.1.weights',
      'provenance.createdAt',
      'provenance.trainingData',
      '',
    ]) {
      expect(issues.has(p), `issue at "${p}" in ${JSON.stringify([...issues])}`).toBe(true);
    }
  });

  it('ties seqLen to the kind and rejects duplicate member names', () => {
    expect(issuesOf(exampleManifest({ seqLen: undefined })).get('seqLen')).toMatch(/required for kind cnn-rnn/);
    expect(issuesOf(exampleManifest({ kind: 'cnn' })).get('seqLen')).toMatch(/only allowed/);
    const dup = exampleManifest({
      members: [
        { name: 'a', role: 'student', weights: 'a.json' },
        { name: 'a', role: 'student', weights: 'b.json' },
      ],
    });
    expect(issuesOf(dup).get('members.1.name')).toMatch(/duplicates members.0.name/);
  });

  it('accepts an expressions-only model and refuses AU without VA', () => {
    const exprOnly = parseManifest(exampleManifest({ tasks: exprOnlyTaskSpec() }));
    expect(manifestProvidesAuVa(exprOnly)).toBe(false);
    expect(manifestProvidesAuVa(parseManifest(exampleManifest()))).toBe(true);
    const { VA: _va, ...auOnly } = seedTaskSpec(AU_THRESHOLDS.cnn);
    expect(issuesOf(exampleManifest({ tasks: auOnly })).get('tasks')).toMatch(/AU and VA are provided together/);
  });

  it('puts the source and every issue in the message', () => {
    try {
      parseManifest({ formatVersion: 1 }, 'models/x/manifest.json');
      throw new Error('not rejected');
    } catch (err) {
      expect(err).toBeInstanceOf(ModelManifestError);
      const msg = (err as Error).message;
      expect(msg).toContain('models/x/manifest.json');
      for (const f of ['id', 'version', 'architecture', 'kind', 'input', 'tasks', 'members', 'provenance']) expect(msg).toContain(`${f}:`);
    }
  });
});
