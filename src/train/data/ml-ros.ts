/**
 * ML-ROS for the AU task (spec §4.2, `imbalanced_ML.py`): clone samples of minority labels until
 * their imbalance ratio IRLbl_j = max_k P_k / P_j falls to MeanIR or a clone budget is spent, then
 * sample with weights from the clone counts.
 *
 * - `seed` variant (reproduces the original): MeanIR preset to 2.0; minority labels IRLbl_j > 2.0
 *   in label order; per label, draws of 32 uniform indices (with replacement) from the label's
 *   positive pool, which grows with earlier clones, until IRLbl_j ≤ 2.0 or clones ≥ 50 % of N (then
 *   later labels are skipped); weights w_i = c_i/N if c_i ≥ 1 else 1/N, so a sample cloned once
 *   weighs as much as one never cloned. Clone draws are seeded here (numpy's were not).
 * - `textbook` variant: MeanIR computed (mean IRLbl over labels with positives), one clone per
 *   draw, weights (1 + c_i)/N.
 */
import { Rng } from './rng.js';
import { SAMPLER_STREAMS, weightedSampler } from './samplers.js';
import type { LabelledFace, Sampler } from './types.js';

export type MlRosVariant = 'seed' | 'textbook';

export interface MlRosOptions {
  readonly variant?: MlRosVariant;
  /** Clone budget as a percentage of N (default 50). */
  readonly maxClonePercentage?: number;
  /** Indices drawn per cloning round (default 32 for `seed`, 1 for `textbook`). */
  readonly drawSize?: number;
  /** MeanIR target (default: 2.0 for `seed`, computed for `textbook`). */
  readonly meanIr?: number;
}

export interface MlRosResult {
  readonly cloneCounts: Uint32Array;
  readonly weights: Float64Array;
  readonly clones: number;
  readonly capHit: boolean;
  readonly meanIrTarget: number;
  readonly minorityLabels: readonly number[];
}

const AUS = 8;

/** IRLbl_j = max_k P_k / P_j (Infinity for a label without positives). */
export function irlbl(positives: readonly number[]): number[] {
  const max = Math.max(...positives);
  return positives.map((p) => (p > 0 ? max / p : Infinity));
}

export function meanIr(ir: readonly number[]): number {
  const finite = ir.filter((x) => Number.isFinite(x));
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : 0;
}

/** Positives per AU, optionally weighted per sample. */
export function auPositives(faces: readonly LabelledFace[], weights?: ArrayLike<number>): number[] {
  const p = new Array<number>(AUS).fill(0);
  faces.forEach((f, i) => {
    if (f.au === undefined || f.au.length !== AUS) throw new RangeError(`sample ${i} (${f.image}) has no 8 AU labels`);
    const w = weights?.[i] ?? 1;
    for (let j = 0; j < AUS; j++) if (f.au[j] === 1) p[j]! += w;
  });
  return p;
}

export function mlRos(faces: readonly LabelledFace[], seed: number, o: MlRosOptions = {}): MlRosResult {
  const variant = o.variant ?? 'seed';
  const n = faces.length;
  if (n === 0) throw new RangeError('ML-ROS: no training samples');
  const positives = auPositives(faces);
  const target = o.meanIr ?? (variant === 'seed' ? 2.0 : meanIr(irlbl(positives)));
  const drawSize = o.drawSize ?? (variant === 'seed' ? 32 : 1);
  const maxClones = ((o.maxClonePercentage ?? 50) / 100) * n;
  const rng = Rng.of(seed, SAMPLER_STREAMS.au, 0x6d6c726f);
  const counts = [...positives];
  const cloneCounts = new Uint32Array(n);
  let clones = 0;
  let capHit = false;
  const minority = irlbl(positives)
    .map((ir, j) => [ir, j] as const)
    .filter(([ir]) => ir > target && Number.isFinite(ir))
    .map(([, j]) => j);
  const irOf = (j: number): number => Math.max(...counts) / counts[j]!;
  for (const j of minority) {
    if (capHit) break;
    // The pool holds original indices; clones of positives join it, so it grows as the original's did.
    const pool: number[] = [];
    faces.forEach((f, i) => {
      if (f.au![j] === 1) pool.push(i);
    });
    for (let i = 0; i < n; i++) for (let c = 0; c < cloneCounts[i]!; c++) if (faces[i]!.au![j] === 1) pool.push(i);
    while (irOf(j) > target) {
      const drawn: number[] = [];
      for (let d = 0; d < drawSize; d++) drawn.push(pool[rng.int(pool.length)]!);
      for (const i of drawn) {
        cloneCounts[i]!++;
        pool.push(i);
        const au = faces[i]!.au!;
        for (let k = 0; k < AUS; k++) if (au[k] === 1) counts[k]!++;
      }
      clones += drawn.length;
      if (clones >= maxClones) {
        capHit = true;
        break;
      }
    }
  }
  const weights = Float64Array.from(cloneCounts, (c) => (variant === 'seed' ? (c >= 1 ? c : 1) : 1 + c) / n);
  return { cloneCounts, weights, clones, capHit, meanIrTarget: target, minorityLabels: minority };
}

/** The AU sampler: ML-ROS weights, N draws per epoch; IRLbl/MeanIR before, after cloning, and as sampled. */
export function mlRosSampler(faces: readonly LabelledFace[], seed: number, o: MlRosOptions = {}): Sampler {
  const r = mlRos(faces, seed, o);
  const before = irlbl(auPositives(faces));
  const augmentedPositives = auPositives(faces, Float64Array.from(r.cloneCounts, (c) => 1 + c));
  const expected = irlbl(auPositives(faces, r.weights));
  return weightedSampler(`ml-ros-${o.variant ?? 'seed'}`, r.weights, seed, SAMPLER_STREAMS.au, {
    variant: o.variant ?? 'seed',
    meanIrTarget: r.meanIrTarget,
    irlblBefore: before,
    meanIrBefore: meanIr(before),
    minorityLabels: r.minorityLabels,
    clones: r.clones,
    capHit: r.capHit,
    irlblAfterCloning: irlbl(augmentedPositives),
    meanIrAfterCloning: meanIr(irlbl(augmentedPositives)),
    irlblSampled: expected,
    meanIrSampled: meanIr(expected),
  });
}
