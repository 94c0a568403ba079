/**
 * Uncertainty of real ensembles (issue 23): the fixture checkpoints imported through the real
 * import path and run by the real runner (ONNX Runtime and TF.js members, the affect service on
 * the caller's thread and in a worker), not a stand-in for the ensemble rule.
 *
 * - Identical members (a checkpoint and its legacy serialisation: the same weights) must give
 *   spread 0 and agreement 1, for the CNN heads and for the GRU windows.
 * - Members that disagree (the two different fixture checkpoints) must give the spread computed
 *   here, independently, from the members' own outputs (`includeMembers`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSeedCommand } from '../../src/import/import-command.js';
import { openAffectModel, type AffectModel } from '../../src/models/affect/open-affect-model.js';
import type { RgbFace } from '../../src/models/seed/index.js';
import { readPng } from '../helpers/read-png.js';
import { repoRoot } from '../helpers/media.js';

const fx = path.join(repoRoot, 'test', 'fixtures', 'seed');
const faces: RgbFace[] = [0, 1, 2, 3, 4].map((i) => readPng(path.join(fx, `faces/face${i}_112.png`)));

async function importModel(kind: 'cnn' | 'cnn-rnn', files: string[]): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'va-uncertainty-')), kind);
  await importSeedCommand({ kind, ...(kind === 'cnn-rnn' ? { seqLen: 6 } : {}), files: files.map((f) => path.join(fx, f)), out } as Parameters<typeof importSeedCommand>[0]);
  return out;
}

/** Population standard deviation, the textbook way. */
function popStd(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}
const argmax = (v: ArrayLike<number>): number => Array.from(v).reduce((best, x, i, a) => (x > a[best]! ? i : best), 0);

const opened: AffectModel[] = [];
afterAll(async () => {
  await Promise.all(opened.map((m) => m.close()));
});

async function open(dir: string, o: { worker?: boolean; includeMembers?: boolean; engine?: 'onnx' | 'tfjs' } = {}): Promise<AffectModel> {
  const m = await openAffectModel(dir, {
    placement: o.worker === true ? { workers: 1 } : 'thread',
    backend: 'wasm',
    engine: o.engine ?? 'onnx',
    threads: 1,
    includeMembers: o.includeMembers === true,
  });
  opened.push(m);
  return m;
}

describe('uncertainty of a two-member ensemble whose members are identical', () => {
  let cnn: string;
  let rnn: string;
  beforeAll(async () => {
    cnn = await importModel('cnn', ['cnn_member0.pth', 'cnn_member0_legacy.pth']);
    rnn = await importModel('cnn-rnn', ['cnn_rnn_member0.pth', 'cnn_rnn_member0_legacy.pth']);
  }, 120_000);

  it('gives spread 0 and agreement 1 on the CNN heads (ONNX Runtime, caller thread)', async () => {
    const m = await open(cnn);
    const decided = m.decideCnn(await m.runCnn(faces));
    expect(decided).toHaveLength(faces.length);
    for (const f of decided) {
      expect(f.uncertainty.members).toBe(2);
      expect(Array.from(f.uncertainty.au!.spread)).toEqual(new Array(8).fill(0));
      expect(f.uncertainty.va!.std).toEqual([0, 0]);
      expect(f.uncertainty.expr.agreement).toBe(1);
      expect(f.uncertainty.window).toBeUndefined();
    }
  }, 120_000);

  it('gives spread 0 and agreement 1 on the GRU windows, decided in a model worker', async () => {
    const m = await open(rnn, { worker: true });
    const caches = await m.runCnn(faces);
    const window = Array.from({ length: 6 }, (_, k) => caches[k % caches.length]!);
    const [decided] = await m.runWindows([window]);
    expect(decided).toHaveLength(6);
    for (const f of decided!) {
      expect(Array.from(f.uncertainty.au!.spread)).toEqual(new Array(8).fill(0));
      expect(f.uncertainty.va!.std).toEqual([0, 0]);
      expect(f.uncertainty.expr.agreement).toBe(1);
      expect(f.uncertainty.window?.size).toBe(6);
    }
  }, 120_000);
});

describe('uncertainty of members that disagree', () => {
  let cnn: string;
  let rnn: string;
  beforeAll(async () => {
    cnn = await importModel('cnn', ['cnn_member0.pth', 'cnn_member1.pth']);
    rnn = await importModel('cnn-rnn', ['cnn_rnn_member0.pth', 'cnn_rnn_member1.pth']);
  }, 120_000);

  it.each([['onnx' as const], ['tfjs' as const]])('equals the spread of the members’ own outputs (CNN, %s)', async (engine) => {
    const m = await open(cnn, { includeMembers: true, engine });
    const decided = m.decideCnn(await m.runCnn(faces));
    let someSpread = 0;
    for (const f of decided) {
      const members = f.members!;
      expect(members).toHaveLength(2);
      for (let j = 0; j < 8; j++) {
        const want = popStd(members.map((x) => x.auProbabilities![j]!));
        expect(f.uncertainty.au!.spread[j]).toBeCloseTo(want, 12);
        someSpread = Math.max(someSpread, want);
      }
      expect(f.uncertainty.va!.std[0]).toBeCloseTo(popStd(members.map((x) => x.valence!)), 12);
      expect(f.uncertainty.va!.std[1]).toBeCloseTo(popStd(members.map((x) => x.arousal!)), 12);
      const votes = members.filter((x) => argmax(x.exprProbabilities) === f.expr.index).length;
      expect(f.uncertainty.expr.agreement).toBe(votes / 2);
    }
    // The two fixture checkpoints really differ, so the comparison above is not between zeros.
    expect(someSpread).toBeGreaterThan(1e-3);
  }, 120_000);

  it('reports, per frame of a window, the spread of the window’s outputs computed independently', async () => {
    const m = await open(rnn, { worker: true });
    const caches = await m.runCnn(faces);
    const window = Array.from({ length: 6 }, (_, k) => caches[k % caches.length]!);
    const [decided] = await m.runWindows([window]);
    const positions = decided!;
    for (const f of positions) {
      const w = f.uncertainty.window!;
      expect(w.size).toBe(6);
      for (let j = 0; j < 8; j++) expect(w.au!.spread[j]).toBeCloseTo(popStd(positions.map((p) => p.au!.probabilities[j]!)), 12);
      expect(w.va!.std[0]).toBeCloseTo(popStd(positions.map((p) => p.va!.valence)), 12);
      expect(w.va!.std[1]).toBeCloseTo(popStd(positions.map((p) => p.va!.arousal)), 12);
      expect(w.expr.agreement).toBe(positions.filter((p) => p.expr.index === f.expr.index).length / 6);
    }
  }, 120_000);
});
