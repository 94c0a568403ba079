/**
 * A directory of aligned face images as one sequence (the seed's `run_pretrained_model.py`
 * input): PNG and JPEG files sorted by name, decoded to RGB by FFmpeg through `streams/`.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { AnalyticsError, ErrorCodes, SourceError } from '../core/errors.js';
import type { RgbFace } from '../models/seed/index.js';
import { openSource } from '../streams/open-source.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

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
  if (images.length === 0) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `${dir}: no .png/.jpg/.jpeg images found`);
  return images;
}

/** Decodes one image file to packed RGB at its own size. */
export async function readImage(file: string): Promise<RgbFace> {
  // maxWidth far above any face crop: FFmpeg must not scale the image.
  const frames = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth: 1 << 16 });
  try {
    const next = await frames.next();
    if (next.done === true) throw new SourceError(ErrorCodes.DECODE, `${file}: no image could be decoded`);
    const f = next.value;
    if (f.width !== f.sourceWidth || f.height !== f.sourceHeight) {
      // The decoder must hand over the image as stored: a resampled image would silently give
      // predictions that differ from the seed's. (The scaler leaves images under maxWidth alone.)
      throw new SourceError(ErrorCodes.DECODE, `${file}: ${f.sourceWidth}×${f.sourceHeight} image would be resampled to ${f.width}×${f.height} by the decoder`);
    }
    return { data: f.data, width: f.width, height: f.height };
  } catch (err) {
    if (err instanceof AnalyticsError && err.message.startsWith(file)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new SourceError(err instanceof AnalyticsError ? err.code : ErrorCodes.DECODE, `${file}: cannot decode the image (${reason})`, { cause: err });
  } finally {
    await frames.return(undefined);
  }
}
