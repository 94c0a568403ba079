import { describe, expect, it } from 'vitest';
import { auPositives, irlbl, meanIr, mlRos, mlRosSampler } from './ml-ros.js';
import { Rng } from './rng.js';
import { cellShares, classShares, exprBalancedSampler, shuffleSampler, vaCells, vaHistogramSampler } from './samplers.js';
import type { LabelledFace } from './types.js';

const pick = (faces: readonly LabelledFace[], idx: Uint32Array): LabelledFace[] => Array.from(idx, (i) => faces[i]!);

describe('EXPR inverse class frequency', () => {
  const counts = [500, 50, 20, 30, 300, 100, 10];
  const faces: LabelledFace[] = counts.flatMap((c, k) => Array.from({ length: c }, (_, i) => ({ image: `e${k}_${i}`, expr: k })));

  it('class shares after balancing are ≈ uniform, per epoch, deterministic in (seed, epoch)', () => {
    const s = exprBalancedSampler(faces, 11);
    expect(classShares(faces)[0]).toBeCloseTo(500 / 1010, 6);
    let total = new Array<number>(7).fill(0);
    for (let e = 0; e < 10; e++) {
      const idx = s.epoch(e);
      expect(idx.length).toBe(faces.length);
      const shares = classShares(pick(faces, idx));
      total = total.map((t, k) => t + shares[k]! / 10);
    }
    for (const sh of total) expect(Math.abs(sh - 1 / 7)).toBeLessThan(0.012);
    expect(s.epoch(3)).toEqual(s.epoch(3));
    expect(s.epoch(3)).not.toEqual(s.epoch(4));
    expect(exprBalancedSampler(faces, 12).epoch(3)).not.toEqual(s.epoch(3));
    expect((s.stats.sharesExpected as number[]).every((x) => Math.abs(x - 1 / 7) < 1e-12)).toBe(true);
  });

  it('a shuffle is a permutation per epoch', () => {
    const s = shuffleSampler(100, 1);
    expect([...s.epoch(0)].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(s.epoch(0)).not.toEqual(s.epoch(1));
  });
});

describe('VA 20×20 histogram', () => {
  const rng = new Rng(5);
  const faces: LabelledFace[] = Array.from({ length: 20000 }, (_, i) => ({
    image: `v${i}`,
    va: [Math.max(-0.9, Math.min(0.7, 0.1 + 0.25 * rng.normal())), Math.max(-0.5, Math.min(0.95, 0.2 + 0.2 * rng.normal()))] as const,
  }));

  it('bins span the data min–max of each axis; the maximum falls into the last bin', () => {
    const c = vaCells(faces);
    expect(c.vEdges[0]).toBe(-0.9);
    expect(c.vEdges[20]).toBe(0.7);
    expect(c.aEdges[0]).toBe(-0.5);
    const top = faces.findIndex((f) => f.va![0] === 0.7 && f.va![1] === 0.95);
    const anyTop = faces.findIndex((f) => f.va![0] === 0.7);
    expect(Math.floor(c.cells[anyTop]! / 20)).toBe(19);
    if (top >= 0) expect(c.cells[top]).toBe(399);
  });

  it('cell shares after sampling are ≈ 1 / occupied cells', () => {
    const s = vaHistogramSampler(faces, 3);
    const { cells } = vaCells(faces);
    const before = cellShares(cells);
    const occupied = s.stats.occupiedCells as number;
    const drawn = new Array<number>(400).fill(0);
    for (let e = 0; e < 5; e++) cellShares(Array.from(s.epoch(e), (i) => cells[i]!)).forEach((x, k) => (drawn[k]! += x / 5));
    expect(Math.max(...before)).toBeGreaterThan(5 / occupied);
    const present = drawn.filter((_, k) => before[k]! > 0);
    const mean = present.reduce((a, b) => a + b, 0) / present.length;
    expect(mean).toBeCloseTo(1 / occupied, 10);
    // 100 000 draws over the occupied cells: each near 1/occupied (binomial noise allowed).
    const sd = Math.sqrt((1 / occupied) * (1 - 1 / occupied) / 100000);
    for (const x of present) expect(Math.abs(x - 1 / occupied)).toBeLessThan(6 * sd);
  });
});

describe('ML-ROS for AUs', () => {
  const rates = [0.5, 0.2, 0.3, 0.4, 0.5, 0.15, 0.25, 0.6];
  const rng = new Rng(9);
  const faces: LabelledFace[] = Array.from({ length: 6000 }, (_, i) => ({ image: `a${i}`, au: rates.map((p) => (rng.next() < p ? 1 : 0)) }));

  it('seed variant: MeanIR 2.0, minority labels cloned to IRLbl ≤ 2 (unless capped), sampled IRLbl lower', () => {
    const s = mlRosSampler(faces, 1);
    const st = s.stats as Record<string, number | number[] | boolean>;
    const before = irlbl(auPositives(faces));
    expect(st.irlblBefore).toEqual(before);
    expect(st.meanIrTarget).toBe(2);
    expect(st.minorityLabels).toEqual(before.map((ir, j) => [ir, j] as const).filter(([ir]) => ir > 2).map(([, j]) => j));
    expect(st.capHit).toBe(false);
    // Each label stops at IRLbl ≤ 2; later clones can raise the maximum again, so check the last one.
    const last = (st.minorityLabels as number[]).at(-1)!;
    expect((st.minorityLabels as number[]).length).toBeGreaterThan(1);
    expect((st.irlblAfterCloning as number[])[last]).toBeLessThanOrEqual(2);
    expect(st.meanIrAfterCloning as number).toBeLessThan(st.meanIrBefore as number);
    expect(st.meanIrSampled as number).toBeLessThan(st.meanIrBefore as number);
    // The realised draws of an epoch reproduce the expected (weighted) IRLbl.
    const drawn = irlbl(auPositives(pick(faces, s.epoch(0))));
    (st.irlblSampled as number[]).forEach((x, j) => expect(Math.abs(drawn[j]! - x) / x).toBeLessThan(0.15));
    expect(s.epoch(2)).toEqual(s.epoch(2));
  });

  it("seed variant's quirk: a sample cloned once weighs as much as one never cloned (c=1 ≡ c=0)", () => {
    const r = mlRos(faces, 1);
    const n = faces.length;
    const once = r.cloneCounts.findIndex((c) => c === 1);
    const never = r.cloneCounts.findIndex((c) => c === 0);
    const twice = r.cloneCounts.findIndex((c) => c === 2);
    expect(r.weights[once]).toBe(1 / n);
    expect(r.weights[never]).toBe(1 / n);
    expect(r.weights[twice]).toBe(2 / n);
    expect(r.clones % 32).toBe(0);
  });

  it('textbook variant: computed MeanIR, one clone per draw, weights (1 + c)/N', () => {
    const r = mlRos(faces, 1, { variant: 'textbook' });
    const before = irlbl(auPositives(faces));
    expect(r.meanIrTarget).toBeCloseTo(meanIr(before), 12);
    const once = r.cloneCounts.findIndex((c) => c === 1);
    expect(r.weights[once]).toBe(2 / faces.length);
    const s = mlRosSampler(faces, 1, { variant: 'textbook' });
    expect((s.stats.irlblAfterCloning as number[])[r.minorityLabels.at(-1)!]).toBeLessThanOrEqual(r.meanIrTarget + 1e-9);
    expect(s.stats.meanIrAfterCloning as number).toBeLessThan(s.stats.meanIrBefore as number);
  });

  it('the clone budget (50 % of N) stops cloning and skips the remaining labels', () => {
    const tiny: LabelledFace[] = Array.from({ length: 100 }, (_, i) => ({ image: `t${i}`, au: [1, i === 0 ? 1 : 0, 1, 1, 1, i < 2 ? 1 : 0, 1, 1] }));
    const r = mlRos(tiny, 4);
    expect(r.capHit).toBe(true);
    expect(r.clones).toBeGreaterThanOrEqual(50);
    expect(r.clones).toBeLessThan(50 + 32);
    expect(r.cloneCounts[0]).toBe(r.clones); // only sample 0 carries AU2
  });
});
