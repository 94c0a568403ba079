/**
 * DISFA (spec §5.4): `<labels>/<SN>/<SN>_au<k>.txt` with one `frame,intensity` line per frame
 * (1-based frame, intensity 0–5) for the seed's 8 AUs, and OpenFace-aligned left-camera faces
 * `<images>/LeftVideo<SN>_comp/LeftVideo<SN>_comp_aligned/*.bmp`, whose frame is the last `_`
 * token of the name minus 1. Intensity ≥ 2 → active. All subjects go to training (the seed's
 * 21/6 split is merged back in Mixed_AU).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError, ReportBuilder, parseNumber, readDataFile, textLines } from './read-report.js';
import type { LabelledFace, ReadReport } from './types.js';

export interface DisfaSource {
  /** `ActionUnit_Labels` directory (one folder per subject, SN001…). */
  readonly labels: string;
  /** Directory of the aligned faces (`LeftVideo<SN>_comp/LeftVideo<SN>_comp_aligned/`). */
  readonly images: string;
}

export const DISFA_AUS = [1, 2, 4, 6, 12, 15, 20, 25] as const;
const IMAGE_EXT = new Set(['.bmp', '.png', '.jpg', '.jpeg']);

async function readAuFile(file: string): Promise<Map<number, number>> {
  const text = (await readDataFile(file, 'AU label file')).toString('utf8');
  const out = new Map<number, number>();
  textLines(text).forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.split(',').map(parseNumber);
    const [frame, intensity] = f;
    if (f.length !== 2 || frame === undefined || intensity === undefined || !Number.isInteger(frame) || frame < 1) {
      throw new DataFormatError(file, i + 1, `expected "frame,intensity" with a 1-based frame, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (!Number.isInteger(intensity) || intensity < 0 || intensity > 5) throw new DataFormatError(file, i + 1, `intensity must be an integer 0..5, got ${line}`);
    out.set(frame - 1, intensity);
  });
  return out;
}

/** Frame (0-based) of an aligned face file name: the last `_` token minus 1 (`…_000123.bmp` → 122). */
export function disfaFrameOf(name: string): number | undefined {
  const stem = name.slice(0, name.length - path.extname(name).length);
  const tok = stem.split('_').at(-1) ?? '';
  return /^\d+$/.test(tok) ? Number(tok) - 1 : undefined;
}

export async function readDisfa(src: DisfaSource): Promise<{ faces: LabelledFace[]; report: ReadReport }> {
  const report = new ReportBuilder('DISFA');
  let subjects: string[];
  try {
    subjects = (await readdir(src.labels, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    throw new DataFormatError(src.labels, undefined, `cannot list the DISFA label directory (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const faces: LabelledFace[] = [];
  for (const sn of subjects) {
    const aus = await Promise.all(DISFA_AUS.map((k) => readAuFile(path.join(src.labels, sn, `${sn}_au${k}.txt`))));
    const dir = path.join(src.images, `LeftVideo${sn}_comp`, `LeftVideo${sn}_comp_aligned`);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => IMAGE_EXT.has(path.extname(n).toLowerCase())).sort();
    } catch {
      report.skip('no aligned-face folder for the subject', dir, aus[0]!.size);
      continue;
    }
    for (const name of names) {
      const frame = disfaFrameOf(name);
      if (frame === undefined || frame < 0) {
        report.skip('no frame number in the file name', path.join(dir, name));
        continue;
      }
      const values = aus.map((m) => m.get(frame));
      if (values.some((v) => v === undefined)) {
        report.skip('no label for the frame in every AU file', `${sn} frame ${frame}`);
        continue;
      }
      faces.push({ image: path.join(dir, name), video: sn, frame, au: values.map((v) => (v! >= 2 ? 1 : 0)) });
      report.keep();
    }
  }
  return { faces, report: report.build() };
}
