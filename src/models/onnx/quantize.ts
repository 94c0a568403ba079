/**
 * Static int8 quantisation of an exported CNN (opt-in): activation ranges are observed on
 * calibration faces through a tapped fp32 graph, then the QDQ graph is written with those ranges.
 * Agreement with fp32 must be measured on the caller's data (see `compareCnn`): int8 trades
 * accuracy for speed, so it is never the default.
 */
import { INPUT_SIZE, TASKS } from '../seed/constants.js';
import type { SeedModel } from '../seed/model.js';
import { exportCnn, type ActivationRanges } from './export-member.js';
import { createSession, type Ort, type OrtSession } from './ort.js';

export interface CalibrationBatch {
  /** Preprocessed faces [batch, 112, 112, 3]. */
  readonly faces: Float32Array;
  readonly batch: number;
}

export async function calibrate(ort: Ort, model: SeedModel, batches: readonly CalibrationBatch[]): Promise<ActivationRanges> {
  const session = await createSession(ort, exportCnn(model, { kind: 'calibrate' }), { threads: 0 });
  const ranges = new Map<string, { min: number; max: number }>();
  try {
    for (const b of batches) {
      const out = await session.run({ faces: new ort.Tensor('float32', b.faces, [b.batch, INPUT_SIZE, INPUT_SIZE, 3]) });
      for (const [name, t] of Object.entries(out)) {
        if (!name.startsWith('cal:')) continue;
        const v = t.data as Float32Array;
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < v.length; i++) {
          const x = v[i]!;
          if (x < min) min = x;
          if (x > max) max = x;
        }
        const key = name.slice(4);
        const r = ranges.get(key);
        ranges.set(key, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}

export async function exportCnnInt8(ort: Ort, model: SeedModel, batches: readonly CalibrationBatch[]): Promise<Uint8Array> {
  return exportCnn(model, { kind: 'int8', ranges: await calibrate(ort, model, batches) });
}

export interface Agreement {
  /** Largest |int8 − fp32| over all logits of the batch. */
  readonly maxLogitDiff: number;
  /** Share of faces whose EXPR argmax is the same. */
  readonly exprArgmaxAgreement: number;
  /** Share of (face, AU) pairs whose sign of the logit (active at threshold 0.5) is the same. */
  readonly auSignAgreement: number;
}

/** Runs both graphs on one batch and compares their logits. */
export async function compareCnn(ort: Ort, a: OrtSession, b: OrtSession, faces: CalibrationBatch): Promise<Agreement> {
  const feeds = { faces: new ort.Tensor('float32', faces.faces, [faces.batch, INPUT_SIZE, INPUT_SIZE, 3]) };
  const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
  let maxLogitDiff = 0;
  let exprSame = 0;
  let auSame = 0;
  let auAll = 0;
  for (const t of TASKS) {
    const x = ra[`logits_${t}`]!.data as Float32Array;
    const y = rb[`logits_${t}`]!.data as Float32Array;
    for (let i = 0; i < x.length; i++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(x[i]! - y[i]!));
    const n = x.length / faces.batch;
    for (let f = 0; f < faces.batch; f++) {
      const xs = x.subarray(f * n, (f + 1) * n);
      const ys = y.subarray(f * n, (f + 1) * n);
      if (t === 'EXPR') exprSame += argmax(xs) === argmax(ys) ? 1 : 0;
      if (t === 'AU') {
        for (let j = 0; j < n; j++) auSame += Math.sign(xs[j]!) === Math.sign(ys[j]!) ? 1 : 0;
        auAll += n;
      }
    }
  }
  return { maxLogitDiff, exprArgmaxAgreement: exprSame / faces.batch, auSignAgreement: auAll > 0 ? auSame / auAll : 1 };
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
