/**
 * ExpW (spec §5.5): `<root>/label/label.lst`, lines `image_name face_id top left right bottom
 * confidence expression`, images in `<root>/image/origin/`. Each face box is cropped (no alignment,
 * pixels outside the image black, as PIL's crop) and written once to `<cacheDir>/<image>_<face_id>_<box>.jpg`
 * (JPEG 95) through FFmpeg; later runs reuse the crops. Unlike the seed, which saved every face of
 * an image under the image's own name (so faces overwrote each other while every label was kept),
 * each face gets its own file, so labels and crops match. Labels are remapped to the Aff-Wild2
 * order with [1, 2, 3, 4, 5, 6, 0] (angry→Anger … neutral→Neutral).
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readImageFile } from '../../streams/decode-image.js';
import { encodeJpeg } from '../../streams/encode-image.js';
import { DataFormatError, ReportBuilder, parseNumber, readDataFile, textLines } from './read-report.js';
import type { LabelledFace, ReadReport } from './types.js';

export const EXPW_TO_AFFWILD2 = [1, 2, 3, 4, 5, 6, 0] as const;

export interface ExpwSource {
  readonly root: string;
  /** Where face crops are written (created). */
  readonly cacheDir: string;
}

export interface ExpwEntry {
  readonly name: string;
  readonly faceId: number;
  readonly box: { readonly top: number; readonly left: number; readonly right: number; readonly bottom: number };
  readonly expr: number;
  readonly line: number;
}

export function parseExpwLabels(text: string, file: string): ExpwEntry[] {
  const out: ExpwEntry[] = [];
  textLines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const f = line.split(/\s+/);
    if (f.length !== 8) throw new DataFormatError(file, i + 1, `expected 8 space-separated fields (image face_id top left right bottom confidence expression), got ${f.length}`);
    const [name, ...rest] = f as [string, ...string[]];
    const nums = rest.map(parseNumber);
    if (nums.some((v) => v === undefined)) throw new DataFormatError(file, i + 1, `non-numeric field in ${JSON.stringify(line.slice(0, 100))}`);
    const [faceId, top, left, right, bottom, , expression] = nums as number[];
    if (!Number.isInteger(expression) || expression! < 0 || expression! > 6) throw new DataFormatError(file, i + 1, `expression must be an integer 0..6, got ${rest[6]}`);
    if ([faceId, top, left, right, bottom].some((v) => !Number.isInteger(v))) throw new DataFormatError(file, i + 1, 'face id and box must be integers');
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new DataFormatError(file, i + 1, `image name must be a plain file name, got ${name}`);
    out.push({ name, faceId: faceId!, box: { top: top!, left: left!, right: right!, bottom: bottom! }, expr: EXPW_TO_AFFWILD2[expression!]!, line: i + 1 });
  });
  return out;
}

/** PIL's Image.crop: the box [left, right) × [top, bottom), pixels outside the image black. */
export function cropBox(img: { data: Uint8Array; width: number; height: number }, box: ExpwEntry['box']): { data: Uint8Array; width: number; height: number } {
  const w = box.right - box.left;
  const h = box.bottom - box.top;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = box.top + y;
    if (sy < 0 || sy >= img.height) continue;
    const x0 = Math.max(0, box.left);
    const x1 = Math.min(img.width, box.right);
    if (x1 <= x0) continue;
    data.set(img.data.subarray((sy * img.width + x0) * 3, (sy * img.width + x1) * 3), (y * w + (x0 - box.left)) * 3);
  }
  return { data, width: w, height: h };
}

const exists = async (p: string): Promise<boolean> => stat(p).then(
  (s) => s.isFile() && s.size > 0,
  () => false,
);

export async function readExpw(src: ExpwSource, progress?: (done: number, total: number) => void): Promise<{ faces: LabelledFace[]; report: ReadReport }> {
  const file = path.join(src.root, 'label', 'label.lst');
  const text = (await readDataFile(file, 'ExpW label list')).toString('utf8');
  const entries = parseExpwLabels(text, file);
  await mkdir(src.cacheDir, { recursive: true });
  const report = new ReportBuilder('ExpW');
  const faces: LabelledFace[] = [];
  // Entries of one image are consecutive in label.lst; decode each image once.
  let decoded: { name: string; img: Awaited<ReturnType<typeof readImageFile>> | undefined } | undefined;
  for (const [k, e] of entries.entries()) {
    progress?.(k, entries.length);
    // The name carries the image (with its extension), the face id and the box, so two faces, two
    // images sharing a stem, or a corrected box never share a crop.
    const out = path.join(src.cacheDir, `${e.name}_${e.faceId}_${e.box.top}_${e.box.left}_${e.box.right}_${e.box.bottom}.jpg`);
    if (e.box.right <= e.box.left || e.box.bottom <= e.box.top || (e.box.right - e.box.left) * (e.box.bottom - e.box.top) > 64e6) {
      report.skip('empty or oversized face box', `${file}:${e.line}`);
      continue;
    }
    if (!(await exists(out))) {
      if (decoded?.name !== e.name) {
        const origin = path.join(src.root, 'image', 'origin', e.name);
        // The seed reads ExpW's JPEGs with PIL; so does this cropper.
        decoded = { name: e.name, img: await readImageFile(origin, { jpeg: 'pil' }).catch(() => undefined) };
      }
      if (decoded.img === undefined) {
        report.skip('image missing or undecodable', e.name);
        continue;
      }
      const crop = cropBox(decoded.img, e.box);
      // Written under a temporary name and renamed, so an interrupted run leaves no half crop.
      await writeFile(`${out}.part`, encodeJpeg(crop.data, crop.width, crop.height, 95));
      await rename(`${out}.part`, out);
    }
    faces.push({ image: out, expr: e.expr });
    report.keep();
  }
  progress?.(entries.length, entries.length);
  return { faces, report: report.build() };
}
