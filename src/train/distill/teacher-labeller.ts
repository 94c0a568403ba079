/**
 * Any model directory as a distillation teacher on unlabelled faces: packaged expression
 * classifiers or seed ensembles, run by the daemon's own model runtime (so the teacher sees
 * exactly what it sees live: its own crop, its own preprocessing, the ensemble mean of its
 * members). Per face it gives the ensemble's EXPR probabilities (a CNN-RNN teacher's per-frame
 * CNN heads).
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes } from '../../core/errors.js';
import { FileRefusedError, RegularFile } from '../../core/read-regular-file.js';
import { openAffectModel, type AffectModel } from '../../models/affect/open-affect-model.js';
import { modelCropAlignment } from '../../models/packaged/face-crop.js';
import type { SoftLabeller } from '../align/align-videos.js';
import { TrainError } from '../errors.js';

export interface TeacherLabeller extends SoftLabeller {
  readonly dir: string;
  readonly runner: AffectModel;
  /** Human-readable: the teacher's id, version, members and what it was trained on. */
  readonly description: string;
  close(): Promise<void>;
}

/** Larger than any model file the loader accepts (a `.pth`-sized weight file is ≈ 100 MB). */
const TEACHER_FILE_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/** A key that changes with any file of the model directory (manifest, weights). */
async function dirKey(dir: string, id: string): Promise<string> {
  const h = createHash('sha256');
  const names = (await readdir(dir)).sort();
  for (const n of names) {
    // Links are followed: a weights file that is a link to other weights changes the key too.
    // Only regular files count (a FIFO is skipped without blocking); each is hashed in chunks.
    let file: RegularFile;
    try {
      file = await RegularFile.open(path.join(dir, n), { maxBytes: TEACHER_FILE_MAX_BYTES, followLinks: true, code: ErrorCodes.TRAIN });
    } catch (err) {
      if (err instanceof FileRefusedError && (err.reason === 'not-regular' || err.reason === 'missing')) continue;
      throw err;
    }
    try {
      h.update(n);
      await file.hashInto(h);
    } finally {
      await file.close();
    }
  }
  return `${id}-${h.digest('hex').slice(0, 12)}`;
}

export async function loadTeacherLabeller(dir: string): Promise<TeacherLabeller> {
  let runner: AffectModel;
  try {
    runner = await openAffectModel(dir, { placement: 'thread', backend: 'auto', engine: 'auto', reserveCore: false });
  } catch (err) {
    throw new TrainError(`teacher ${dir}: ${(err as Error).message}`, { dir }, { cause: err });
  }
  try {
    const m = runner.manifest;
    const key = await dirKey(dir, m.id);
    const trainedOn = m.provenance.trainingData.join('; ');
    const description = `${m.id} ${m.version} (${m.architecture}, members ${runner.memberInfo.map((x) => x.name).join(', ')}; trained on: ${trainedOn})`;
    return {
      dir,
      runner,
      key,
      description,
      cropOf: (face) => modelCropAlignment(face, runner),
      label: async (crops) => {
        const frames = runner.decideCnn(await runner.runCnn(crops));
        return frames.map((f) => Float64Array.from(f.expr.probabilities));
      },
      close: () => runner.close(),
    };
  } catch (err) {
    await runner.close();
    throw err;
  }
}
