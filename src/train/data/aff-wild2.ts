/**
 * Aff-Wild2 ABAW 2020 annotations (spec §5.1): `<annotations>/{AU_Set,EXPR_Set,VA_Set}/
 * {Training_Set,Validation_Set}/<video>.txt`, a header line, then line k+2 = frame k (0-based) =
 * image `<images>/<video>/{k+1:05d}.jpg`. A frame is kept iff its image exists and no value on its
 * row is the missing marker (−1 for AU/EXPR, −5 for VA), as the seed's annotation script keeps it.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError, ReportBuilder, parseNumber, readDataFile, textLines } from './read-report.js';
import type { LabelledFace, ReadReport, Task, TaskData } from './types.js';

export type AffWild2Split = 'Training_Set' | 'Validation_Set';

export interface AffWild2Source {
  /** Directory holding AU_Set/, EXPR_Set/, VA_Set/. */
  readonly annotations: string;
  /** Directory holding one folder of aligned faces per video (the organisers' `cropped_aligned`). */
  readonly images: string;
  /** Image file extension (default `.jpg`, as the organisers' crops). */
  readonly imageExt?: string;
}

export const TASK_SET_DIR: Readonly<Record<Task, string>> = { AU: 'AU_Set', EXPR: 'EXPR_Set', VA: 'VA_Set' };
export const MISSING_MARKER: Readonly<Record<Task, number>> = { AU: -1, EXPR: -1, VA: -5 };

type Row = Pick<LabelledFace, 'au' | 'expr' | 'va'> | 'missing';

/** Parses one label row; throws a DataFormatError naming file and line when it is malformed. */
export function parseAffWild2Row(task: Task, text: string, file: string, line: number): Row {
  const fields = text.split(',');
  const values = fields.map(parseNumber);
  const want = task === 'AU' ? 8 : task === 'VA' ? 2 : 1;
  if (fields.length !== want || values.some((v) => v === undefined)) {
    throw new DataFormatError(file, line, `expected ${want} comma-separated number(s) for ${task}, got ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text)}`);
  }
  const v = values as number[];
  const missing = MISSING_MARKER[task];
  if (v.some((x) => x === missing)) return 'missing';
  if (task === 'AU') {
    if (v.some((x) => x !== 0 && x !== 1)) throw new DataFormatError(file, line, `AU values must be 0, 1 or ${missing}, got ${text}`);
    return { au: v };
  }
  if (task === 'EXPR') {
    const c = v[0]!;
    if (!Number.isInteger(c) || c < 0 || c > 6) throw new DataFormatError(file, line, `expression must be an integer 0..6 or ${missing}, got ${text}`);
    return { expr: c };
  }
  if (v.some((x) => !(x >= -1 && x <= 1))) throw new DataFormatError(file, line, `valence and arousal must lie in [-1, 1] (or be ${missing}), got ${text}`);
  return { va: [v[0]!, v[1]!] };
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The image name of 0-based frame k. */
export const affWild2ImageName = (k: number, ext = '.jpg'): string => `${String(k + 1).padStart(5, '0')}${ext}`;

/** Reads one task's split. Videos in name order, frames in file order. */
export async function readAffWild2Split(task: Task, split: AffWild2Split, src: AffWild2Source): Promise<{ faces: LabelledFace[]; report: ReadReport }> {
  const dir = path.join(src.annotations, TASK_SET_DIR[task], split);
  const ext = src.imageExt ?? '.jpg';
  const files = await listDir(dir);
  if (files === undefined) throw new DataFormatError(dir, undefined, `no such directory (expected ${TASK_SET_DIR[task]}/${split}/<video>.txt under the annotation root)`);
  const report = new ReportBuilder(`Aff-Wild2 ${TASK_SET_DIR[task]}/${split}`);
  const faces: LabelledFace[] = [];
  const txt = files.filter((f) => f.endsWith('.txt') && !f.startsWith('.')).sort();
  for (const name of txt) {
    const video = name.slice(0, -4);
    const file = path.join(dir, name);
    const lines = textLines((await readDataFile(file, 'label file')).toString('utf8'));
    if (lines.length === 0) throw new DataFormatError(file, 1, 'empty file (expected a header line, then one line per frame)');
    const videoDir = path.join(src.images, video);
    const present = new Set(await listDir(videoDir));
    for (let i = 1; i < lines.length; i++) {
      const k = i - 1;
      const row = parseAffWild2Row(task, lines[i]!, file, i + 1);
      if (row === 'missing') {
        report.skip(`missing label (${MISSING_MARKER[task]})`, `${video} frame ${k}`);
        continue;
      }
      if (present.size === 0) {
        // Rows are still parsed, so a malformed file is reported even when its images are absent.
        report.skip('no image folder for the video', videoDir);
        continue;
      }
      const image = affWild2ImageName(k, ext);
      if (!present.has(image)) {
        report.skip('no face image for the frame', path.join(video, image));
        continue;
      }
      faces.push({ image: path.join(videoDir, image), video, frame: k, ...row });
      report.keep();
    }
  }
  if (txt.length === 0) report.skip('no annotation files', dir, 0);
  return { faces, report: report.build() };
}

/** Aff-Wild2 for one task: its training split, and its validation split (always the validation set). */
export async function readAffWild2(task: Task, src: AffWild2Source): Promise<TaskData> {
  const [train, val] = await Promise.all([readAffWild2Split(task, 'Training_Set', src), readAffWild2Split(task, 'Validation_Set', src)]);
  return { task, train: train.faces, val: val.faces, reports: [train.report, val.report] };
}
