/**
 * Where `engine: onnx-int8` gets the faces its activation ranges are calibrated on. Real faces,
 * offline, and nothing the user does not have:
 * - `model.int8Calibration` / `--calibration DIR`: a directory of aligned face crops the user
 *   names (PNG/JPEG, the layout `daemon align` writes and `predict --input DIR` reads), ideally from
 *   the cameras the daemon will watch; each image is one face;
 * - otherwise the six photos shipped with the `@vladmandic/face-api` dependency
 *   (`demo/sample1.jpg` … `sample6.jpg`, group portraits), their faces found and aligned by the
 *   daemon's own detector and aligner as a live frame's would be.
 * The set's name and pixel hash go into the cached graph's name, so a different set never reuses
 * another's graph.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { computeAlignment, cropAlignedFacesUint8 } from '../models/face-aligner/index.js';
import { FaceDetector } from '../models/face-detector/index.js';
import { packageDir } from '../models/io/package-dir.js';
import type { Int8Calibration } from '../models/onnx/int8-calibration.js';
import type { RgbFace } from '../models/seed/index.js';
import { openSource } from '../streams/open-source.js';

/** More faces than this add time, not range coverage. */
export const MAX_CALIBRATION_FACES = 256;
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);
const SHIPPED_PACKAGE = '@vladmandic/face-api';
const SHIPPED_PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `demo/sample${i}.jpg`);

/** One still image at its own size (scaled down to `maxWidth` at most). */
async function decodeStill(file: string, maxWidth: number): Promise<RgbFace> {
  const frames = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth });
  try {
    const next = await frames.next();
    if (next.done === true) throw new SourceError(ErrorCodes.DECODE, `${file}: no image could be decoded`);
    return { data: next.value.data, width: next.value.width, height: next.value.height };
  } catch (err) {
    if (err instanceof SourceError && err.message.startsWith(file)) throw err;
    throw new SourceError(ErrorCodes.DECODE, `${file}: cannot decode the calibration image (${(err as Error).message})`, { cause: err });
  } finally {
    await frames.return(undefined);
  }
}

/** A user's directory of aligned crops: every image is one face, in name order. */
async function facesOfDir(dir: string): Promise<Int8Calibration> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXT.has(path.extname(e.name).toLowerCase())).map((e) => e.name);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `int8 calibration directory ${dir}: cannot list it (${(err as Error).message})`, { cause: err });
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `int8 calibration directory ${dir}: no .png/.jpg/.jpeg face images`);
  // Evenly spaced over the whole directory when it holds more than enough.
  const step = Math.max(1, names.length / MAX_CALIBRATION_FACES);
  const picked = Array.from({ length: Math.min(names.length, MAX_CALIBRATION_FACES) }, (_, i) => names[Math.floor(i * step)]!);
  const faces: RgbFace[] = [];
  // A crop is small; a huge file is scaled down rather than held at full size.
  for (const n of picked) faces.push(await decodeStill(path.join(dir, n), 512));
  return { name: `${path.resolve(dir)} (${faces.length} faces)`, faces };
}

/** The faces of the photos shipped with face-api, detected and aligned as the daemon does. */
async function shippedFaces(alignSize: number): Promise<Int8Calibration> {
  let root: string;
  try {
    root = packageDir(SHIPPED_PACKAGE);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `int8 calibration: ${SHIPPED_PACKAGE} is not installed; name a directory of aligned faces (model.int8Calibration, --calibration)`, { cause: err });
  }
  const detector = await FaceDetector.load();
  const faces: RgbFace[] = [];
  try {
    for (const rel of SHIPPED_PHOTOS) {
      const image = await decodeStill(path.join(root, rel), 1920);
      // Each photo is a scene of its own: a fresh session, the detector on its (only) frame.
      const session = detector.createSession({ maxFaces: 32, detectEveryFrames: 1 });
      const found = await session.detect(image);
      faces.push(...cropAlignedFacesUint8(image, found.faces.map((f) => computeAlignment(f.landmarks, alignSize))));
    }
  } finally {
    detector.close();
  }
  return { name: `${SHIPPED_PACKAGE} demo photos (${faces.length} faces)`, faces };
}

export async function loadCalibrationFaces(o: { readonly dir?: string | null; readonly alignSize: number }): Promise<Int8Calibration> {
  return o.dir !== undefined && o.dir !== null ? facesOfDir(o.dir) : shippedFaces(o.alignSize);
}
