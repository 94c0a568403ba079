/**
 * Unlabelled faces for distillation (spec §3.3 without the ground-truth term): videos, stills
 * and folders of them are aligned by the daemon's own stages (as `daemon align` does, into a
 * cache directory) and every face is labelled by the teacher with its EXPR probabilities, on the
 * teacher's own crop of the same frame. Aligning and labelling are resumable per video; labels of
 * another teacher are never reused (the file name carries the teacher's key).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AnalyticsError, ErrorCodes, SourceError } from '../../core/errors.js';
import { FileRefusedError, readRegularText } from '../../core/read-regular-file.js';
import type { FaceDetector } from '../../models/face-detector/index.js';
import { alignVideo, frameFile, INPUT_FAILURES, listVideos, softLabelFile, type AlignedVideo, type AlignEvents, type AlignOptions, type SoftLabeller } from '../align/align-videos.js';
import { DataFormatError, ReportBuilder, textLines } from '../data/read-report.js';
import type { LabelledFace, ReadReport } from '../data/types.js';
import { TrainError } from '../errors.js';

export interface UnlabelledSet {
  /** Media files (see `mediaFiles`), their names checked (`checkVideoNames`). */
  readonly files: readonly string[];
  /** Where aligned crops and soft labels are written (reused across runs). */
  readonly cache: string;
  /** Keep every n-th frame of a track (1 = all; consecutive frames are near duplicates). */
  readonly every: number;
}

export interface UnlabelledFaces {
  readonly faces: readonly LabelledFace[];
  readonly report: ReadReport;
  /** Media files that were aligned, in order. */
  readonly files: readonly string[];
  /** Media files that could not be read or decoded (each failed alone; the others were aligned). */
  readonly failed: readonly { readonly file: string; readonly code: string; readonly message: string }[];
}

/** Media files of a set's inputs (videos and stills; directories expanded). Names are checked by the caller (`checkVideoNames`), over every set sharing the cache. */
export async function mediaFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) files.push(...(await listVideos(input, true)));
  return files;
}

/** A soft-label file holds one short JSON row per face: millions of faces fit well under this. */
export const SOFT_LABELS_MAX_BYTES = 256 * 1024 * 1024;

function parseSoftRow(line: string, file: string, n: number): { folder: string; frame: number; p: number[] } {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new DataFormatError(file, n, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const r = o as { folder?: unknown; frame?: unknown; p?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.folder !== 'string' || !/^[^/\\]+$/.test(r.folder) || r.folder === '..' || r.folder === '.') {
    throw new DataFormatError(file, n, '"folder" must be a folder name inside the cache');
  }
  if (!Number.isInteger(r.frame) || (r.frame as number) < 1) throw new DataFormatError(file, n, '"frame" must be a 1-based frame number');
  const p = r.p;
  if (!Array.isArray(p) || p.length !== 7 || !p.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    throw new DataFormatError(file, n, '"p" must be 7 non-negative probabilities (Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise)');
  }
  const sum = (p as number[]).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-3) throw new DataFormatError(file, n, `"p" sums to ${sum}, not 1`);
  return { folder: r.folder, frame: r.frame as number, p: (p as number[]).map((x) => x / sum) };
}

/**
 * The soft-labelled faces of one aligned video (every n-th frame of each track). `folders` are the
 * video's track folders (its alignment marker's): a row naming any other folder is refused, so a
 * planted or stale file cannot pull another video's faces into this set.
 */
export async function readSoftLabels(cache: string, video: string, key: string, every: number, folders: readonly string[], report: ReportBuilder): Promise<LabelledFace[]> {
  const file = softLabelFile(cache, video, key);
  let text: string;
  try {
    // Written by this code, never through a link; a planted FIFO or link is refused, not followed.
    text = await readRegularText(file, { maxBytes: SOFT_LABELS_MAX_BYTES });
  } catch (err) {
    const why = err instanceof FileRefusedError ? `it ${err.what}` : (err as Error).message;
    throw new TrainError(`${file}: cannot read the soft labels (${why})`, { file }, { cause: err });
  }
  const faces: LabelledFace[] = [];
  const seen = new Map<string, number>();
  for (const [i, line] of textLines(text).entries()) {
    if (line.trim() === '') continue;
    const row = parseSoftRow(line, file, i + 1);
    if (!folders.includes(row.folder)) throw new DataFormatError(file, i + 1, `"folder" ${JSON.stringify(row.folder)} is not one of ${video}'s track folders (${folders.join(', ')})`);
    const k = seen.get(row.folder) ?? 0;
    seen.set(row.folder, k + 1);
    if (k % every !== 0) {
      report.skip(`one frame in ${every} kept`);
      continue;
    }
    report.keep();
    faces.push({ image: path.join(cache, row.folder, frameFile(row.frame)), video: row.folder, frame: row.frame - 1, exprSoft: row.p });
  }
  return faces;
}

export interface PrepareOptions {
  readonly detector: FaceDetector;
  readonly config: AlignOptions['config'];
  readonly teacher: SoftLabeller;
  readonly events?: AlignEvents;
  readonly signal?: AbortSignal;
}

/**
 * One file aligned and labelled, or the input error that stops this file alone (as in
 * `daemon align`: unreadable, not media, undecodable, vanished). Anything else — the cache
 * refusing a write, an abort, a bug — is thrown and ends the run.
 */
async function alignOne(file: string, set: UnlabelledSet, o: PrepareOptions): Promise<AlignedVideo | AnalyticsError> {
  try {
    // alignVideo's own stat would throw a bare ENOENT for a dangling link or a file gone meanwhile.
    await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'EACCES' ? ErrorCodes.SOURCE_FORBIDDEN : ErrorCodes.SOURCE_NOT_FOUND;
    return new SourceError(code, `${file}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  try {
    return await alignVideo(file, { input: file, out: set.cache, detector: o.detector, config: o.config, teacher: o.teacher, stills: true, ...(o.events !== undefined ? { events: o.events } : {}), ...(o.signal !== undefined ? { signal: o.signal } : {}) });
  } catch (err) {
    if (err instanceof AnalyticsError && INPUT_FAILURES.has(err.code)) return err;
    throw err;
  }
}

/**
 * Aligns and labels every file of a set (resumable), then reads its faces. A file that cannot be
 * read or decoded is reported (`videoFailed`, the set's report) and left out; a set of which no
 * file could be aligned is an error naming each one.
 */
export async function prepareUnlabelled(set: UnlabelledSet, what: string, o: PrepareOptions): Promise<UnlabelledFaces> {
  const files = set.files;
  const report = new ReportBuilder(`${what} (teacher ${o.teacher.key})`);
  const faces: LabelledFace[] = [];
  const aligned: string[] = [];
  const failed: { file: string; code: string; message: string }[] = [];
  for (const [i, file] of files.entries()) {
    if (o.signal?.aborted === true) throw new TrainError('aborted');
    const video = path.basename(file, path.extname(file));
    o.events?.videoStarted?.(video, i, files.length);
    const r = await alignOne(file, set, o);
    if (r instanceof AnalyticsError) {
      o.events?.videoFailed?.(video, r);
      report.skip(`file that could not be aligned [${r.code}]`, path.basename(file));
      failed.push({ file, code: r.code, message: r.message });
      continue;
    }
    if (r.skipped) o.events?.videoSkipped?.(video, 'already aligned and labelled');
    else o.events?.videoDone?.(r);
    if (r.faces === 0) report.skip('file without faces', path.basename(file));
    faces.push(...(await readSoftLabels(set.cache, video, o.teacher.key, set.every, r.folders, report)));
    aligned.push(file);
  }
  if (files.length > 0 && aligned.length === 0) {
    const each = failed.map((f) => `${path.basename(f.file)} [${f.code}]: ${f.message}`).join('; ');
    throw new TrainError(`${what}: none of the ${files.length} files could be aligned (${each})`, { files: failed.map((f) => f.file) });
  }
  return { faces, report: report.build(), files: aligned, failed };
}
