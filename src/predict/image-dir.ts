/**
 * A directory of aligned face images as one sequence (the seed's `run_pretrained_model.py`
 * input): PNG, JPEG and BMP files sorted by name, decoded to RGB through `streams/` as the seed's
 * PIL decodes them: JPEG bit-exactly as libjpeg-turbo (the authors' aligner writes JPEG crops),
 * PNG and BMP by FFmpeg's decoders, whose pixels equal PIL's.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, SourceError } from '../core/errors.js';
import type { RgbFace } from '../models/seed/index.js';
import { readImageFile } from '../streams/decode-image.js';

/** The seed reads .bmp too (OpenFace's aligned faces are .bmp). */
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

/**
 * Image files of `dir`, sorted by name in code-unit order (Python's `sorted()` on the same
 * names), so frame i is the i-th file as in the seed. Hidden files and other extensions are skipped.
 */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_OPEN, `${dir}: cannot list the image directory (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const images = names.filter((n) => !n.startsWith('.') && IMAGE_EXT.has(path.extname(n).toLowerCase()));
  images.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (images.length === 0) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `${dir}: no .png/.jpg/.jpeg/.bmp images found`);
  return images;
}

/**
 * Decodes one image file to packed RGB at its own size (never resampled: a resampled image would
 * give predictions that differ from the seed's). A truncated or damaged image is VA_ERR_DECODE.
 */
export async function readImage(file: string): Promise<RgbFace> {
  return readImageFile(file, { jpeg: 'pil' });
}
