import { describe, expect, it } from 'vitest';
import { combineMembers } from './ensemble.js';
import type { MemberFrame } from './decode.js';
import { windowUncertainty } from './uncertainty.js';

const THRESHOLDS = new Array<number>(8).fill(0.5);

/** A member frame with the given AU probabilities, EXPR distribution and VA. */
function member(au: number[], expr: number[], va: [number, number]): MemberFrame {
  return { auProbabilities: Float64Array.from(au), exprProbabilities: Float64Array.from(expr), valence: va[0], arousal: va[1] };
}

/** Population standard deviation, written out the textbook way (not the module's code). */
function popStd(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}

const exprA = [0.1, 0.05, 0.05, 0.05, 0.6, 0.05, 0.1];
const exprB = [0.5, 0.05, 0.05, 0.05, 0.2, 0.05, 0.1];
const auA = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const auB = [0.9, 0.2, 0.1, 0.4, 0.0, 0.6, 0.3, 0.8];

describe('ensemble uncertainty', () => {
  it('is zero spread and full agreement for two identical members', () => {
    const f = combineMembers([member(auA, exprA, [0.3, -0.2]), member(auA, exprA, [0.3, -0.2])], { thresholds: THRESHOLDS });
    expect(f.uncertainty.members).toBe(2);
    expect(Array.from(f.uncertainty.au!.spread!)).toEqual(new Array(8).fill(0));
    expect(f.uncertainty.expr.agreement).toBe(1);
    expect(f.uncertainty.va!.std).toEqual([0, 0]);
  });

  it('gives the spread, agreement, entropy and margin computed independently for members that disagree', () => {
    const members = [member(auA, exprA, [0.5, 0.1]), member(auB, exprB, [-0.1, 0.4]), member(auA, exprA, [0.2, 0.1])];
    const f = combineMembers(members, { thresholds: THRESHOLDS });
    const spread = Array.from(f.uncertainty.au!.spread!);
    auA.forEach((_, j) => expect(spread[j]).toBeCloseTo(popStd([auA[j]!, auB[j]!, auA[j]!]), 12));
    // AU1: 0.1, 0.9, 0.1 → mean 0.3667, std √(2·0.0711+0.2844)/3 = 0.37712.
    expect(spread[0]).toBeCloseTo(0.377124, 6);
    expect(f.uncertainty.va!.std[0]).toBeCloseTo(popStd([0.5, -0.1, 0.2]), 12);
    expect(f.uncertainty.va!.std[1]).toBeCloseTo(popStd([0.1, 0.4, 0.1]), 12);
    // Mean EXPR: Happiness (0.4667) over Neutral (0.2333); two of three members vote Happiness.
    expect(f.expr.label).toBe('Happiness');
    expect(f.uncertainty.expr.agreement).toBeCloseTo(2 / 3, 12);
    const mean = exprA.map((_, j) => (2 * exprA[j]! + exprB[j]!) / 3);
    const h = -mean.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0) / Math.log(7);
    expect(f.uncertainty.expr.entropy).toBeCloseTo(h, 12);
    expect(f.uncertainty.expr.margin).toBeCloseTo(mean[4]! - mean[0]!, 12);
  });

  it('reports entropy and margin, but no spread or agreement, for a single model', () => {
    const f = combineMembers([member(auA, exprA, [0.3, -0.2])], { thresholds: THRESHOLDS });
    expect(f.uncertainty.members).toBe(1);
    expect(f.uncertainty.au).toBeUndefined();
    expect(f.uncertainty.va).toBeUndefined();
    expect(f.uncertainty.expr.agreement).toBeUndefined();
    expect(f.uncertainty.expr.margin).toBeCloseTo(0.5, 12);
    const h = -exprA.reduce((s, p) => s + p * Math.log(p), 0) / Math.log(7);
    expect(f.uncertainty.expr.entropy).toBeCloseTo(h, 12);
  });

  it('is 0 entropy and margin 1 for a certain distribution, 1 entropy and margin 0 for a uniform one', () => {
    const one = combineMembers([{ exprProbabilities: Float64Array.from([0, 0, 0, 1, 0, 0, 0]) }], { thresholds: [] });
    expect(one.uncertainty.expr.entropy).toBe(0);
    expect(one.uncertainty.expr.margin).toBe(1);
    const flat = combineMembers([{ exprProbabilities: new Float64Array(7).fill(1 / 7) }], { thresholds: [] });
    expect(flat.uncertainty.expr.entropy).toBeCloseTo(1, 12);
    expect(flat.uncertainty.expr.margin).toBe(0);
  });

  it('leaves AU and VA spreads out for an expressions-only ensemble', () => {
    const f = combineMembers([{ exprProbabilities: Float64Array.from(exprA) }, { exprProbabilities: Float64Array.from(exprB) }], { thresholds: [] });
    expect(f.uncertainty.au).toBeUndefined();
    expect(f.uncertainty.va).toBeUndefined();
    // Members vote Happiness and Neutral; the mean (0.4 vs 0.3) is Happiness.
    expect(f.uncertainty.expr.agreement).toBe(0.5);
  });
});

describe('window uncertainty (CNN-RNN)', () => {
  it('is the spread of the ensemble outputs over the window, computed independently', () => {
    const positions = [
      combineMembers([member(auA, exprA, [0.5, 0.1])], { thresholds: THRESHOLDS }),
      combineMembers([member(auB, exprB, [-0.1, 0.4])], { thresholds: THRESHOLDS }),
      combineMembers([member(auA, exprA, [0.2, 0.1])], { thresholds: THRESHOLDS }),
      combineMembers([member(auA, exprA, [0.2, 0.3])], { thresholds: THRESHOLDS }),
    ];
    const w = windowUncertainty(positions);
    auA.forEach((_, j) => expect(w.au!.spread[j]).toBeCloseTo(popStd([auA[j]!, auB[j]!, auA[j]!, auA[j]!]), 12));
    expect(w.va!.std[0]).toBeCloseTo(popStd([0.5, -0.1, 0.2, 0.2]), 12);
    expect(w.va!.std[1]).toBeCloseTo(popStd([0.1, 0.4, 0.1, 0.3]), 12);
    // Labels: Happiness, Neutral, Happiness, Happiness.
    expect(w.expr.labelShare(4)).toBe(0.75);
    expect(w.expr.labelShare(0)).toBe(0.25);
  });

  it('is zero for a window of identical outputs', () => {
    const f = combineMembers([member(auA, exprA, [0.5, 0.1])], { thresholds: THRESHOLDS });
    const w = windowUncertainty([f, f, f]);
    expect(Array.from(w.au!.spread)).toEqual(new Array(8).fill(0));
    expect(w.va!.std).toEqual([0, 0]);
    expect(w.expr.labelShare(4)).toBe(1);
  });
});
