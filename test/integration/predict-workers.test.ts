/**
 * `daemon predict` on a pool of model workers: a real clip through the real detect/align/track
 * path, the fixture models on ONNX Runtime, once on the main thread and once on two workers. The
 * rows must be the same (CNN batches and GRU window batches run concurrently, their results are
 * put back in plan order), and nothing may stay behind: tensors, file descriptors, worker threads.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAffectModel } from '../../src/models/affect/open-affect-model.js';
import { selectBackend, tensorCount } from '../../src/models/backend.js';
import { ModelUnavailableError } from '../../src/models/runtime/model-host.js';
import type { RgbFace } from '../../src/models/seed/index.js';
import { readPng } from '../helpers/read-png.js';
import { predict } from '../../src/predict/predict.js';
import type { PredictionRow } from '../../src/predict/rows.js';
import { media, repoRoot } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

let root: string;
const models: Record<'cnn' | 'cnn-rnn', string> = { cnn: '', 'cnn-rnn': '' };
const readJsonl = (file: string): PredictionRow[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
const openFds = (): number => readdirSync('/proc/self/fd').length;
const workerThreads = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;

/** Every number of a row, in key order (labels and ids compared separately). */
function numbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) for (const x of v) numbers(x, out);
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v).sort()) numbers((v as Record<string, unknown>)[k], out);
  return out;
}

beforeAll(async () => {
  await selectBackend('wasm');
  root = await mkdtemp(path.join(tmpdir(), 'predict-workers-'));
  models.cnn = await importTestModel('cnn');
  models['cnn-rnn'] = await importTestModel('cnn-rnn');
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  // The model directories and their ONNX caches beside them.
  for (const dir of Object.values(models)) if (dir !== '') await rm(path.dirname(dir), { recursive: true, force: true });
});

describe.each(['cnn-rnn', 'cnn'] as const)('predict --workers on a real clip (%s fixture model)', (kind) => {
  it('writes the same rows with 2 workers as on the main thread, and releases everything', async () => {
    const clip = media('single_face.mp4');
    const run = (workers: number) =>
      predict({ model: models[kind], input: clip, out: path.join(root, `${kind}-w${workers}.jsonl`), backend: 'wasm', engine: 'onnx', workers, batch: 4, members: true });
    const one = await run(1);
    // Measured after a first run: the detector's and ONNX Runtime's one-time state is loaded.
    const fds = openFds();
    const tensors = tensorCount();
    const threads = workerThreads();
    const two = await run(2);
    expect([one.workers, two.workers]).toEqual([0, 2]);
    expect(two.rows).toBe(one.rows);
    expect(one.rows).toBeGreaterThan(20);
    const a = readJsonl(path.join(root, `${kind}-w1.jsonl`));
    const b = readJsonl(path.join(root, `${kind}-w2.jsonl`));
    expect(b.map((r) => [r.frame, r.trackId, r.expr.label, r.au?.active, r.members?.map((m) => m.name)])).toEqual(a.map((r) => [r.frame, r.trackId, r.expr.label, r.au?.active, r.members?.map((m) => m.name)]));
    let most = 0;
    a.forEach((r, i) => {
      const x = numbers(r);
      const y = numbers(b[i]);
      expect(y.length).toBe(x.length);
      x.forEach((v, j) => (most = Math.max(most, Math.abs(v - y[j]!))));
    });
    expect(most).toBeLessThanOrEqual(1e-6);
    expect(tensorCount()).toBe(tensors);
    expect(openFds()).toBe(fds);
    expect(workerThreads()).toBe(threads);
  });
});

describe('the affect model pool', () => {
  it('runs CNN batches on all workers at once without leaking tensors, and refuses calls once closed', async () => {
    const faces: RgbFace[] = readdirSync(path.join(repoRoot, 'test/fixtures/seed/faces'))
      .filter((f) => f.endsWith('_112.png'))
      .sort()
      .map((f) => readPng(path.join(repoRoot, 'test/fixtures/seed/faces', f)));
    const pool = await openAffectModel(models['cnn-rnn'], { placement: { workers: 2 }, backend: 'wasm', engine: 'tfjs', threads: 1 });
    try {
      expect([pool.concurrency, pool.kind, pool.memberEngines]).toEqual([2, 'cnn-rnn', ['tfjs', 'tfjs']]);
      const first = await Promise.all([pool.runCnn(faces), pool.runCnn(faces)]);
      const base = await pool.tensors();
      const again = await Promise.all([pool.runCnn(faces), pool.runCnn(faces), pool.decideSequence(first[0], 2)]);
      expect(await pool.tensors()).toBe(base);
      expect(again[0]).toEqual(first[0]);
      expect(again[1]).toEqual(first[0]);
      expect(again[2]).toHaveLength(faces.length);
    } finally {
      await pool.close();
    }
    await expect(pool.runCnn(faces)).rejects.toBeInstanceOf(ModelUnavailableError);
  });
});
