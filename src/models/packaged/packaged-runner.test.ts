import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir, packagedTeachersDir } from '../../paths.js';
import { selectBackend } from '../backend.js';
import { tf } from '../tf.js';
import { EXPR_LABELS } from '../seed/constants.js';
import { parsePackagedManifest, type PackagedManifest, type PackageMemberSpec } from './manifest.js';
import { PackagedRunner } from './packaged-runner.js';

/** The shipped manifests, whose members are all npm-package members. */
const manifestJson = (dir = packagedTeachersDir): PackagedManifest & { members: PackageMemberSpec[] } =>
  JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as PackagedManifest & { members: PackageMemberSpec[] };

function dirWith(m: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-packaged-'));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('packaged expression model directories', () => {
  it('the shipped manifests are valid and map both packages onto the seed EXPR order', () => {
    const d = parsePackagedManifest(manifestJson(defaultModelDir), 'default');
    expect(d.members.map((x) => x.name)).toEqual(['face-api-expression']);
    const m = parsePackagedManifest(manifestJson(), 'teachers');
    expect(m.members.map((x) => (x.format === 'ferplus-resnet50' ? x.weights.manifest : x.package.name))).toEqual(['@vladmandic/human', '@vladmandic/face-api']);
    for (const member of m.members) expect([...member.labelMap].sort()).toEqual([...EXPR_LABELS].sort());
    // human: angry, disgust, fear, happy, sad, surprise, neutral.
    expect(m.members[0]!.labelMap[3]).toBe('Happiness');
    // face-api: neutral, happy, sad, angry, fearful, disgusted, surprised.
    expect(m.members[1]!.labelMap[1]).toBe('Happiness');
  });

  it('rejects hostile or inconsistent manifests, naming every problem', () => {
    const m = manifestJson();
    const bad = {
      ...m,
      members: [
        { ...m.members[0]!, package: { ...m.members[0]!.package, model: '../../etc/passwd' }, labelMap: ['Anger', 'Anger', 'Fear', 'Happiness', 'Sadness', 'Surprise', 'Neutral'] },
        { ...m.members[1]!, package: { ...m.members[1]!.package, name: '../evil' }, input: { ...m.members[1]!.input, mean: [1] } },
      ],
    };
    let err: unknown;
    try {
      parsePackagedManifest(bad, 'bad');
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('VA_ERR_MODEL_MANIFEST');
    const text = (err as Error).message;
    for (const p of ['members.0.package.model', 'members.0.labelMap', 'members.1.package.name', 'members.1.input.mean']) expect(text).toContain(p);
  });

  it('fails clearly when the installed package file differs from the one the manifest names', async () => {
    const m = manifestJson();
    const files = m.members[1]!.package.files.map((f, i) => (i === 1 ? { ...f, sha256: '0'.repeat(64) } : f));
    const dir = dirWith({ ...m, members: [{ ...m.members[1]!, package: { ...m.members[1]!.package, version: '9.9.9', files } }] });
    const before = tf.memory().numTensors;
    await expect(PackagedRunner.fromDir(dir, { includeMembers: false })).rejects.toMatchObject({
      code: 'VA_ERR_MODEL_FILES',
      message: expect.stringMatching(/installed @vladmandic\/face-api@1\.7\.15 does not hold the model the manifest names \(@vladmandic\/face-api@9\.9\.9\)[\s\S]*face_expression_model\.bin: sha256 [0-9a-f]{64}, the manifest expects 0{64}/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails clearly when the package is not installed', async () => {
    const m = manifestJson();
    const dir = dirWith({ ...m, members: [{ ...m.members[0]!, package: { ...m.members[0]!.package, name: 'no-such-package-here' } }] });
    await expect(PackagedRunner.fromDir(dir, { includeMembers: false })).rejects.toThrow(/needs the npm package no-such-package-here@3\.3\.6, which is not installed/);
  });

  it('runs every member on faces of any size, returns EXPR only and leaks no tensors', async () => {
    const runner = await PackagedRunner.fromDir(packagedTeachersDir, { includeMembers: true });
    try {
      const before = tf.memory().numTensors;
      const face = (side: number, v: number) => ({ data: new Uint8Array(side * side * 3).fill(v), width: side, height: side });
      const caches = runner.runCnn([face(112, 90), face(64, 160), face(200, 30)]);
      expect(tf.memory().numTensors).toBe(before);
      expect(caches).toHaveLength(3);
      const frames = runner.decideCnn(caches);
      for (const f of frames) {
        expect(f.au).toBeUndefined();
        expect(f.va).toBeUndefined();
        expect(f.expr.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(f.members).toHaveLength(2);
        for (const m of f.members!) {
          expect(m.auProbabilities).toBeUndefined();
          expect(m.exprProbabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
        }
        // The ensemble is the mean of the members' probabilities.
        f.expr.probabilities.forEach((p, j) => expect(p).toBeCloseTo((f.members![0]!.exprProbabilities[j]! + f.members![1]!.exprProbabilities[j]!) / 2, 6));
      }
      expect(() => runner.decideSequence()).toThrow(/per-frame/);
    } finally {
      runner.dispose();
    }
  });

  it('a member with its weights in the directory (ferplus-resnet50) names only plain files there, each with its hash', async () => {
    const m = manifestJson(defaultModelDir);
    const member = {
      name: 'resnet50-ferplus',
      role: 'teacher',
      format: 'ferplus-resnet50',
      weights: { manifest: 'w.json', files: [{ path: 'w.json', sha256: '0'.repeat(64) }, { path: 'w.bin', sha256: '1'.repeat(64) }] },
      input: { size: 224, colour: 'grey-rgb', resize: 'pil-bilinear', mean: [131.0912, 103.8827, 91.4953], divisor: 1 },
      output: 'logits',
      labels: ['neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear'],
      labelMap: ['Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger', 'Disgust', 'Fear'],
    };
    const hostile = { ...member, weights: { manifest: '../../etc/passwd.json', files: [{ path: 'sub/w.bin', sha256: '0'.repeat(64) }, { path: 'w.bin', sha256: '1'.repeat(64) }] } };
    let err: unknown;
    try {
      parsePackagedManifest({ ...m, members: [hostile] }, 'bad');
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('VA_ERR_MODEL_MANIFEST');
    for (const p of ['members.0.weights.manifest', 'members.0.weights.files.0.path']) expect((err as Error).message).toContain(p);
    // Valid, but the directory does not hold the files: a clear files error, nothing loaded.
    const before = tf.memory().numTensors;
    await expect(PackagedRunner.fromDir(dirWith({ ...m, members: [member] }), { includeMembers: false })).rejects.toMatchObject({
      code: 'VA_ERR_MODEL_FILES',
      message: expect.stringMatching(/member resnet50-ferplus: the directory does not hold the weights the manifest names[\s\S]*w\.json/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
