/**
 * The seed's losses against PyTorch 1.13 values (test/fixtures/train/losses-core.json, made by
 * tools/train_losses_reference.py): teacher task losses with the λ weights, ground-truth terms,
 * distillation terms (KL batchmean at T = 1.5, BCE to the teacher's sigmoid) and L_S per batch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf, type Tensor1D, type Tensor2D } from '../models/tf.js';
import { bceWithLogits, crossEntropy, klBatchmean, studentTaskLoss, teacherTaskLoss, vaBin, vaDimLoss, type TaskLabels } from './losses.js';
import type { Task } from './data/types.js';

interface Fixture {
  labels: { EXPR: number[]; AU: number[][]; VA: number[][] };
  student: Record<Task, Record<Task, number[][]>>;
  teacher: Record<Task, Record<Task, number[][]>>;
  expected: Record<Task, { teacher: number; student: number; gt: Record<string, number>; distill: Record<string, number> }>;
}

const fx = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../test/fixtures/train/losses-core.json'), 'utf8')) as Fixture;
const value = (f: () => tf.Tensor): number => {
  const t = tf.tidy(f);
  const v = t.dataSync()[0] ?? NaN;
  t.dispose();
  return v;
};

function labels(task: Task): TaskLabels {
  if (task === 'EXPR') return { task, y: tf.tensor1d(fx.labels.EXPR, 'int32') };
  if (task === 'AU') return { task, y: tf.tensor2d(fx.labels.AU) };
  return { task, y: tf.tensor2d(fx.labels.VA) };
}

const logits3 = (m: Record<Task, number[][]>): { EXPR: Tensor2D; AU: Tensor2D; VA: Tensor2D } => ({ EXPR: tf.tensor2d(m.EXPR), AU: tf.tensor2d(m.AU), VA: tf.tensor2d(m.VA) });

describe('seed losses vs PyTorch', () => {
  it('bins VA values with edges linspace(-1, 1, 21), 1.0 in the last bin', () => {
    expect([-1, -0.95, -0.9, 0, 0.05, 0.999, 1].map(vaBin)).toEqual([0, 0, 1, 10, 10, 19, 19]);
  });

  it('bins the label as the seed does, from its float32 value (AFEW-VA\'s k/10 labels sit on the edges)', () => {
    // The seed copies labels into a FloatTensor and digitizes y.cpu().numpy() (float32) against
    // numpy's float64 edges: float32 0.1 lies above edge 11 (0.10000000000000009), float64 0.1 below.
    // Expected bins from numpy: np.digitize(np.float32([0.1, 0.3, 0.7, -0.1, -0.7]), np.linspace(-1, 1, 21)) - 1.
    expect([0.1, 0.3, 0.7, -0.1, -0.7].map((v) => vaBin(Math.fround(v)))).toEqual([11, 13, 16, 8, 3]);
    expect(vaBin(0.1)).toBe(10);
    // The loss takes its bins from the label tensor (float32): with λ_ccc = 0 it is CE to those bins.
    const before = tf.memory().numTensors;
    const z = tf.tensor2d([Array.from({ length: 40 }, (_, k) => Math.sin(k)), Array.from({ length: 40 }, (_, k) => Math.cos(k))]);
    const y = tf.tensor2d([
      [0.1, 0.3],
      [-0.7, 0.7],
    ]);
    const ce = value(() => crossEntropy(tf.slice(z, [0, 0], [-1, 20]) as Tensor2D, tf.tensor1d([11, 3], 'int32')));
    expect(value(() => vaDimLoss(z, y, 0, 0))).toBeCloseTo(ce, 6);
    const ceA = value(() => crossEntropy(tf.slice(z, [0, 20], [-1, 20]) as Tensor2D, tf.tensor1d([13, 16], 'int32')));
    expect(value(() => vaDimLoss(z, y, 1, 0))).toBeCloseTo(ceA, 6);
    tf.dispose([z, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['EXPR', 'AU', 'VA'] as const)('%s batch: teacher loss, ground-truth and distillation terms, student loss', (task) => {
    const before = tf.memory().numTensors;
    const e = fx.expected[task];
    const s = logits3(fx.student[task]);
    const t = logits3(fx.teacher[task]);
    const y = labels(task);
    expect(value(() => teacherTaskLoss(s[task], y))).toBeCloseTo(e.teacher, 5);
    expect(value(() => studentTaskLoss(s, t, y))).toBeCloseTo(e.student, 5);
    expect(value(() => klBatchmean(s.EXPR, t.EXPR, 1.5))).toBeCloseTo(e.distill['EXPR'] ?? NaN, 5);
    expect(value(() => bceWithLogits(s.AU, tf.sigmoid(t.AU)))).toBeCloseTo(e.distill['AU'] ?? NaN, 5);
    expect(value(() => klBatchmean(tf.slice(s.VA, [0, 0], [-1, 20]), tf.slice(t.VA, [0, 0], [-1, 20]), 1.5))).toBeCloseTo(e.distill['V'] ?? NaN, 5);
    expect(value(() => klBatchmean(tf.slice(s.VA, [0, 20], [-1, 20]), tf.slice(t.VA, [0, 20], [-1, 20]), 1.5))).toBeCloseTo(e.distill['A'] ?? NaN, 5);
    if (task === 'EXPR') expect(value(() => crossEntropy(s.EXPR, y.y as Tensor1D))).toBeCloseTo(e.gt['EXPR'] ?? NaN, 5);
    if (task === 'AU') expect(value(() => bceWithLogits(s.AU, y.y as Tensor2D))).toBeCloseTo(e.gt['AU'] ?? NaN, 5);
    if (task === 'VA') {
      expect(value(() => vaDimLoss(s.VA, y.y as Tensor2D, 0, 1))).toBeCloseTo(e.gt['V'] ?? NaN, 5);
      expect(value(() => vaDimLoss(s.VA, y.y as Tensor2D, 1, 1))).toBeCloseTo(e.gt['A'] ?? NaN, 5);
    }
    tf.dispose([s.EXPR, s.AU, s.VA, t.EXPR, t.AU, t.VA, y.y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
