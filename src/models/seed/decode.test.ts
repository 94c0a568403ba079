import { describe, expect, it } from 'vitest';
import { AU_THRESHOLDS, VA_CENTRES } from './constants.js';
import { applyAuThresholds, argmax, decodeMemberFrame, sigmoid, softmax, vaExpectation } from './decode.js';
import { ensembleLogits, type MemberLogits } from './ensemble.js';
import { SeedModelError } from './errors.js';

const ln3 = Math.log(3);

function vaOneHot(valenceBin: number, arousalBin: number, big = 50): number[] {
  const z = new Array<number>(40).fill(0);
  z[valenceBin] = big;
  z[20 + arousalBin] = big;
  return z;
}

describe('decoding one member', () => {
  it('uses linspace(-1, 1, 20) centres', () => {
    expect(VA_CENTRES).toHaveLength(20);
    expect(VA_CENTRES[0]).toBe(-1);
    expect(VA_CENTRES[19]).toBeCloseTo(1, 12);
    expect(VA_CENTRES[1]).toBeCloseTo(-0.8947368, 6);
  });

  it('computes sigmoid, softmax and argmax', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(ln3)).toBeCloseTo(0.75, 12);
    expect(sigmoid(-1000)).toBe(0);
    expect([...softmax([0, ln3])].map((v) => +v.toFixed(12))).toEqual([0.25, 0.75]);
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('thresholds AUs strictly (p > thr)', () => {
    expect(applyAuThresholds([0.5, 0.51, 0.49], [0.5, 0.5, 0.5])).toEqual([false, true, false]);
    expect(() => applyAuThresholds([0.5], [0.5, 0.5])).toThrow(SeedModelError);
  });

  it('takes the VA expectation over the bins of each half', () => {
    expect(vaExpectation(new Array<number>(20).fill(0), 0)).toBeCloseTo(0, 12);
    expect(vaExpectation(vaOneHot(19, 0), 0)).toBeCloseTo(1, 9);
    expect(vaExpectation(vaOneHot(19, 0), 20)).toBeCloseTo(-1, 9);
    // two equal bins 9 and 10 → (c9 + c10)/2 = 0
    const z = new Array<number>(20).fill(-50);
    z[9] = 0;
    z[10] = 0;
    expect(vaExpectation(z, 0)).toBeCloseTo(0, 12);
    // bins 0 and 1 at ln 3 apart: 0.25·(−1) + 0.75·(−17/19)
    z.fill(-50);
    z[0] = 0;
    z[1] = ln3;
    expect(vaExpectation(z, 0)).toBeCloseTo(0.25 * -1 + 0.75 * (-17 / 19), 9);
  });

  it('rejects logits of the wrong width', () => {
    expect(() => decodeMemberFrame({ EXPR: [0], AU: new Array<number>(8).fill(0), VA: new Array<number>(40).fill(0) })).toThrow(/EXPR logits must have 7/);
  });
});

describe('ensembling (test.py rules)', () => {
  const member = (expr: number[], au: number[], va: number[]): MemberLogits => ({
    EXPR: Float32Array.from(expr),
    AU: Float32Array.from(au),
    VA: Float32Array.from(va),
  });

  it('averages probabilities (not logits), then thresholds and argmax; averages VA expectations', () => {
    // AU1: p = 0.5 and 0.75 → mean 0.625; AU2: p = 0.25 and 0.25 → 0.25.
    // EXPR: member A is sure of Anger (p≈1), member B splits Neutral/Happiness 0.5/0.5 with a
    // big logit margin: mean softmax → Anger 0.5, Neutral 0.25, Happiness 0.25 → Anger;
    // the api's mean of logits would pick Neutral/Happiness instead.
    const a = member([0, 40, 0, 0, 0, 0, 0], [0, -ln3, 0, 0, 0, 0, 0, 0], vaOneHot(19, 0));
    const b = member([60, 0, 0, 0, 60, 0, 0], [ln3, -ln3, 0, 0, 0, 0, 0, 0], vaOneHot(0, 0));
    const thresholds = [0.6, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    const [frame] = ensembleLogits([a, b], { thresholds, includeMembers: true });
    if (frame === undefined) throw new Error('no frame');
    expect(frame.au!.probabilities[0]).toBeCloseTo(0.625, 6);
    expect(frame.au!.probabilities[1]).toBeCloseTo(0.25, 6);
    expect(frame.au!.active).toEqual([true, true, false, false, false, false, false, false]);
    expect(frame.expr.probabilities[1]).toBeCloseTo(0.5, 6);
    expect(frame.expr.probabilities[0]).toBeCloseTo(0.25, 6);
    expect(frame.expr.index).toBe(1);
    expect(frame.expr.label).toBe('Anger');
    expect(frame.va!.valence).toBeCloseTo(0, 9);
    expect(frame.va!.arousal).toBeCloseTo(-1, 9);
    expect(frame.members).toHaveLength(2);
    expect(frame.members?.[0]?.valence).toBeCloseTo(1, 9);
    expect(frame.members?.[1]?.auProbabilities![0]).toBeCloseTo(0.75, 6);
  });

  it('decodes N frames per member (flattened [B, T, n]) and omits members unless asked', () => {
    const z = (n: number, frames: number): number[] => new Array<number>(n * frames).fill(0);
    const frames = ensembleLogits([member(z(7, 3), z(8, 3), z(40, 3))], { thresholds: AU_THRESHOLDS.cnnRnnSeq32 });
    expect(frames).toHaveLength(3);
    expect(frames[2]?.members).toBeUndefined();
    // p = 0.5 everywhere: on only where the released threshold is below 0.5
    expect(frames[0]?.au!.active).toEqual(AU_THRESHOLDS.cnnRnnSeq32.map((t) => 0.5 > t));
    expect(frames[0]?.expr.label).toBe('Neutral');
  });

  it('rejects members that disagree on the frame count, and empty ensembles', () => {
    const one = member(new Array<number>(7).fill(0), new Array<number>(8).fill(0), new Array<number>(40).fill(0));
    const two = member(new Array<number>(14).fill(0), new Array<number>(16).fill(0), new Array<number>(80).fill(0));
    expect(() => ensembleLogits([one, two], { thresholds: AU_THRESHOLDS.cnn })).toThrow(/frame count/);
    expect(() => ensembleLogits([], { thresholds: AU_THRESHOLDS.cnn })).toThrow(SeedModelError);
    const bad = member(new Array<number>(7).fill(0), new Array<number>(16).fill(0), new Array<number>(40).fill(0));
    expect(() => ensembleLogits([bad], { thresholds: AU_THRESHOLDS.cnn })).toThrow(/frame count/);
  });
});
