/**
 * `daemon train` starting where the seed starts (spec §3): `init: { from: ferplus }` reads the
 * FER+ ResNet-50 (`resnet50_ferplus_dag.pth` layout: the caffe backbone's keys without a prefix,
 * plus FER+'s 8-class 1×1-conv classifier) and gives it fresh heads. The fixture
 * (tools/ferplus_reference.py) carries the backbone tensors of cnn_member0.pth at widths ÷ 64.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from '../../src/import/checkpoint/read-torch-checkpoint.js';
import { tensorCount } from '../../src/models/backend.js';
import { stateDictToWeights } from '../../src/import/state-dict-weights.js';
import { ModelStore } from '../../src/import/store/model-store.js';
import { writeSyntheticAffWild2, type SyntheticAffWild2 } from '../../src/train/data/synthetic.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildPlan } from '../../src/train/build-plan.js';
import { runTraining } from '../../src/train/run-training.js';
import { selectTrainingBackend } from '../../src/train/engine/train-backend.js';
import { ferplusInit } from '../../src/train/nets/ferplus-init.js';
import { readMemberWeights } from '../../src/train/nets/member-weights.js';
import { repoRoot } from '../helpers/media.js';

const fx = path.join(repoRoot, 'test/fixtures/seed');
const ferplus = path.join(fx, 'ferplus_tiny.pth');
const dir = mkdtempSync(path.join(tmpdir(), 'train-ferplus-'));
let data: SyntheticAffWild2;

/** The backbone of the seed checkpoint the FER+ fixture was cut from, as TF.js weights. */
function memberBackbone(): Map<string, Float32Array> {
  const sd = readTorchCheckpoint(readFileSync(path.join(fx, 'cnn_member0.pth')));
  const w = stateDictToWeights(new Map([...sd].filter(([k]) => k.startsWith('backbone.model.'))), { kind: 'cnn', part: 'backbone' });
  const out = new Map([...w.weights].map(([k, t]) => [k, t.dataSync() as Float32Array] as const));
  for (const t of w.weights.values()) t.dispose();
  return out;
}

beforeAll(async () => {
  await selectTrainingBackend('wasm');
  data = await writeSyntheticAffWild2({ root: path.join(dir, 'data'), seed: 4, trainVideos: 3, valVideos: 1, framesPerVideo: 8 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('init from the FER+ backbone', () => {
  it('takes every backbone tensor of the file as it is and makes fresh heads; FER+ classifier dropped', async () => {
    const before = tensorCount();
    const w = await ferplusInit(ferplus, 1);
    try {
      const want = memberBackbone();
      const backbone = [...w.weights.keys()].filter((k) => k.startsWith('backbone/'));
      expect(backbone.sort()).toEqual([...want.keys()].sort());
      for (const k of backbone) expect(Buffer.from((w.weights.get(k)!.dataSync() as Float32Array).buffer).equals(Buffer.from(want.get(k)!.buffer)), k).toBe(true);
      expect([...w.weights.keys()].some((k) => k.startsWith('heads/'))).toBe(true);
      expect([...w.weights.keys()].some((k) => k.includes('classifier'))).toBe(false);
      expect(w.arch).toBe('resnet50-caffe');
    } finally {
      for (const t of w.weights.values()) t.dispose();
    }
    expect(tensorCount()).toBe(before);
  });

  it('refuses a seed checkpoint, a file without the FER+ classifier, and a missing store entry, each saying why', async () => {
    const before = tensorCount();
    await expect(ferplusInit(path.join(fx, 'cnn_member0.pth'), 1)).rejects.toThrow(/FER\+ backbone .*key backbone\.model\./);
    await expect(ferplusInit(path.join(fx, 'odd_tensors.pth'), 1)).rejects.toThrow(/missing|shape|unexpected/);
    const store = new ModelStore(path.join(dir, 'empty-store'));
    await expect(ferplusInit('ferplus-resnet50', 1, store)).rejects.toThrow(/daemon models pull ferplus-resnet50/);
    await expect(ferplusInit(path.join(dir, 'nowhere.pth'), 1)).rejects.toThrow(/does not exist/);
    expect(tensorCount()).toBe(before);
  });

  it('a store directory holding resnet50_ferplus_dag.pth is accepted by name', async () => {
    const store = new ModelStore(path.join(dir, 'store'));
    mkdirSync(store.modelDir('ferplus-resnet50'), { recursive: true });
    copyFileSync(ferplus, path.join(store.modelDir('ferplus-resnet50'), 'resnet50_ferplus_dag.pth'));
    writeFileSync(path.join(store.modelDir('ferplus-resnet50'), 'store.json'), '{}');
    expect(await store.has('ferplus-resnet50')).toBe(true);
    const w = await ferplusInit('ferplus-resnet50', 1, store);
    for (const t of w.weights.values()) t.dispose();
  });

  it('daemon train with init ferplus trains from those weights (lr 1e-9: the convolutions end where FER+ starts)', async () => {
    const out = path.join(dir, 'model');
    const plan = await buildPlan(
      parseTrainConfig({
        out,
        arch: 'resnet50-caffe',
        seed: 2,
        batch: 4,
        init: { from: 'ferplus', file: ferplus },
        teacher: { from: 'train', epochs: 1 },
        students: { count: 0, epochs: 1 },
        optimizer: { lr: 1e-9 },
        balance: { AU: 'none', EXPR: 'none', VA: 'none' },
        data: { sources: [{ kind: 'aff-wild2', annotations: data.annotations, images: data.images }] },
      }),
    );
    await runTraining(plan, { resume: false, engine: 'onnx' });
    const trained = await readMemberWeights(out);
    try {
      const want = memberBackbone();
      const convs = [...want.keys()].filter((k) => k.endsWith('/kernel'));
      expect(convs.length).toBeGreaterThan(50);
      let worst = 0;
      for (const k of convs) {
        const a = trained.weights.get(k)!.dataSync();
        const b = want.get(k)!;
        for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      }
      // Adam moves each weight by about lr per step: a few steps at 1e-9. A random start would be off by ~0.1.
      expect(worst).toBeLessThan(1e-6);
    } finally {
      for (const t of trained.weights.values()) t.dispose();
    }
  }, 300_000);
});
