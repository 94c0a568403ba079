/**
 * The faces a static int8 graph is calibrated on. The set names itself (logs, readiness) and is
 * part of the cached graph's name, so another calibration set never meets a graph calibrated on a
 * different one. The models never go looking for faces: the caller brings them (the daemon and
 * `daemon predict` take a directory the user names, or the photos shipped with a dependency).
 */
import { createHash } from 'node:crypto';
import { INPUT_SIZE } from '../seed/constants.js';
import { preprocessFacePixels, type RgbFace } from '../seed/preprocess.js';
import type { CalibrationBatch } from './quantize.js';

export interface Int8Calibration {
  /** Where the faces came from, for people: `face-api demo photos (23 faces)`, a directory. */
  readonly name: string;
  /** Face crops as the model takes them (any size; preprocessing resizes as for inference). */
  readonly faces: readonly RgbFace[];
}

/** Fewer faces cannot estimate activation ranges worth quantising with. */
export const MIN_CALIBRATION_FACES = 8;

/** Hash of the faces' pixels (order included): the cache key part of a calibrated graph. */
export function calibrationKey(c: Int8Calibration): string {
  const h = createHash('sha256');
  for (const f of c.faces) {
    h.update(`${f.width}x${f.height};`);
    h.update(f.data);
  }
  return h.digest('hex').slice(0, 16);
}

/** The faces preprocessed exactly as for inference, in batches of at most `batch`. */
export function calibrationBatches(c: Int8Calibration, batch = 8): CalibrationBatch[] {
  const size = INPUT_SIZE * INPUT_SIZE * 3;
  const out: CalibrationBatch[] = [];
  for (let i = 0; i < c.faces.length; i += batch) {
    const part = c.faces.slice(i, i + batch);
    const faces = new Float32Array(part.length * size);
    part.forEach((f, k) => faces.set(preprocessFacePixels(f), k * size));
    out.push({ faces, batch: part.length });
  }
  return out;
}
