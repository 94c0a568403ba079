import { describe, expect, it } from 'vitest';
import type { LabelledFace } from '../data/types.js';
import { softScores } from './soft-scores.js';

const face = (p: number[]): LabelledFace => ({ image: 'x.jpg', exprSoft: p });

describe('softScores', () => {
  it('is zero KL and full agreement when the student reproduces the teacher', () => {
    const p = [0.1, 0.05, 0.05, 0.1, 0.5, 0.1, 0.1];
    const logits = Float32Array.from(p, (v) => Math.log(v) + 3); // any shift: softmax is the same
    const s = softScores([{ task: 'EXPR', faces: [face(p)], logits, width: 7 }]);
    expect(s['agreement']).toBe(1);
    expect(s['kl']).toBeCloseTo(0, 6);
  });

  it('counts disagreement and computes KL(teacher ‖ student) in nats', () => {
    const p = [0, 0, 0, 0, 1, 0, 0];
    const logits = new Float32Array(7); // uniform student
    const s = softScores([
      { task: 'EXPR', faces: [face(p), face([1, 0, 0, 0, 0, 0, 0])], logits: Float32Array.from([...logits, ...Float32Array.from([5, 0, 0, 0, 0, 0, 0])]), width: 7 },
    ]);
    // face 1: uniform student argmax 0 vs teacher 4 (disagree), KL = log 7; face 2: agree, KL = -log softmax(5)
    const kl2 = -(5 - Math.log(Math.exp(5) + 6));
    expect(s['agreement']).toBe(0.5);
    expect(s['kl']).toBeCloseTo((Math.log(7) + kl2) / 2, 5);
    expect(s['S']).toBeCloseTo(-(s['kl'] ?? 0), 10);
  });

  it('refuses faces without a soft label', () => {
    expect(() => softScores([{ task: 'EXPR', faces: [{ image: 'a.jpg', expr: 3 }], logits: new Float32Array(7), width: 7 }])).toThrow(/no soft label/);
  });
});
