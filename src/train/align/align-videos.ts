/**
 * `daemon align`: the seed's alignment step (spec §7.1) with the daemon's own detector, aligner and
 * tracker, composed exactly as `daemon predict` composes them for a video (readVideoFaces). Writes
 * the Aff-Wild2 `cropped_aligned` layout:
 *   <out>/<video>/<frame:05d>.jpg         the first track of the video (1-based frame numbers)
 *   <out>/<video>_<track>/<frame:05d>.jpg every further track
 *   <out>/<video>.landmarks.csv           one row per face: frame, track, folder, score, box (x, y, w, h in
 *                                         source pixels), the 5 points (eyes, nose, mouth corners)
 *   <out>/<video>.soft.<teacher>.jsonl    with a teacher (distillation on unlabelled video): one row per
 *                                         face, {folder, frame, p}: the teacher's EXPR probabilities on
 *                                         its own crop of the face, cut from the same frame
 *   <out>/.complete/<video>.json          written last; a video with a matching marker is skipped
 *   <out>/.complete/.settings.json        the settings that shape the crops (cropSettings); a run
 *                                         with others is refused
 * Resumable: a finished video (same input size and mtime) is skipped, and a video interrupted
 * midway is analysed again from its start, keeping the crops already written. Crops are written
 * atomically (temporary name, then rename), so a kill never leaves a truncated JPEG.
 */
import { existsSync, linkSync, lstatSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readdir, stat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { AlignedFace, Alignment } from '../../core/records.js';
import type { RgbFace } from '../../models/seed/index.js';
import { AnalyticsError, SourceError, ErrorCodes, type ErrorCode } from '../../core/errors.js';
import { FileRefusedError, readRegularText } from '../../core/read-regular-file.js';
import type { FaceDetector } from '../../models/face-detector/index.js';
import { readVideoFaces } from '../../predict/video-faces.js';
import { encodeJpeg } from '../../streams/encode-image.js';

export const VIDEO_EXTENSIONS = new Set(['.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg', '.m4v', '.wmv', '.flv', '.ts', '.mts']);
/** Stills count as one-frame videos where faces of photos are wanted (distillation data). */
export const STILL_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp']);

/**
 * A distillation teacher run on every aligned face: its own crop of the face (cut from the same
 * frame) in, EXPR probabilities in the seed's order out.
 */
export interface SoftLabeller {
  /** Names the teacher's outputs: labels of another teacher (or other weights) are never reused. */
  readonly key: string;
  cropOf(face: AlignedFace): Alignment;
  label(crops: readonly RgbFace[]): Promise<Float64Array[]>;
}

/** One row of `<video>.soft.<teacher>.jsonl`. */
export interface SoftLabelRow {
  readonly folder: string;
  /** 1-based frame number, as in the crop's file name. */
  readonly frame: number;
  readonly p: readonly number[];
}

export const softLabelFile = (out: string, video: string, key: string): string => path.join(out, `${video}.soft.${key}.jsonl`);

export interface AlignEvents {
  videoStarted?(video: string, index: number, total: number): void;
  frame?(video: string, frames: number, faces: number): void;
  videoDone?(summary: AlignedVideo): void;
  videoSkipped?(video: string, reason: string): void;
  /** An input that could not be read or decoded: reported, and the run goes on. */
  videoFailed?(video: string, err: AnalyticsError): void;
}

export interface AlignedVideo {
  readonly video: string;
  readonly input: string;
  readonly frames: number;
  readonly faces: number;
  /** Crops written in this run (fewer than `faces` when resuming). */
  readonly written: number;
  /** Folder names, first track first. */
  readonly folders: readonly string[];
  readonly skipped: boolean;
  /** Set when this input could not be aligned (the run went on with the others). */
  readonly failed?: { readonly code: string; readonly message: string };
}

export interface AlignOptions {
  readonly input: string;
  readonly out: string;
  readonly detector: FaceDetector;
  readonly config: Pick<Config, 'analysis' | 'detector' | 'tracker' | 'alignment'>;
  /** JPEG quality 1..100 (default 95). */
  readonly quality?: number;
  readonly events?: AlignEvents;
  readonly signal?: AbortSignal;
  /** Label every face with this teacher too (see `SoftLabeller`). */
  readonly teacher?: SoftLabeller;
  /** Accept stills (JPEG, PNG, BMP) as one-frame videos (default: video files only). */
  readonly stills?: boolean;
}

interface Marker {
  readonly size: number;
  readonly mtimeMs: number;
  readonly frames: number;
  readonly faces: number;
  readonly folders: readonly string[];
  /** The teacher whose soft labels were written with the crops (absent: none). */
  readonly teacher?: string;
}

/** The videos to align: the file itself, or the video files of a directory (sorted by name). */
export async function listVideos(input: string, stills = false): Promise<string[]> {
  let s;
  try {
    s = await stat(input);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `--input ${input}: not found`, { cause: err });
  }
  if (!s.isDirectory()) return [input];
  const candidates = (await readdir(input, { withFileTypes: true }))
    .filter((e) => !e.isDirectory() && !e.name.startsWith('.') && isMedia(e.name, stills))
    .map((e) => e.name)
    .sort();
  // Links count unless they lead to a directory. FIFOs, devices and broken links named like
  // videos stay in the list: each fails alone with an error that names it (a FIFO is never opened).
  const names: string[] = [];
  for (const n of candidates) if (await stat(path.join(input, n)).then((x) => !x.isDirectory(), () => true)) names.push(n);
  if (names.length === 0) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `--input ${input}: no video files (${[...VIDEO_EXTENSIONS, ...(stills ? STILL_EXTENSIONS : [])].join(' ')})`);
  return names.map((n) => path.join(input, n));
}

function isMedia(name: string, stills: boolean): boolean {
  const ext = path.extname(name).toLowerCase();
  return VIDEO_EXTENSIONS.has(ext) || (stills && STILL_EXTENSIONS.has(ext));
}

const videoName = (file: string): string => path.basename(file, path.extname(file));

/**
 * Writes `target` through a fresh `<target>.part` (a stale one — or a symlink someone planted
 * there — is removed first and the new one created exclusively), then renames it into place: a
 * kill never leaves a truncated file, and nothing outside the output directory is written.
 */
function writeAtomicSync(target: string, data: string | Uint8Array): void {
  const part = `${target}.part`;
  try {
    unlinkSync(part);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(part, data, { flag: 'wx' });
  renameSync(part, target);
}

/** A folder of the output must be a real directory, not a link leading elsewhere. */
function ensureFolder(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true });
    return;
  }
  if (!st.isDirectory()) throw new SourceError(ErrorCodes.CONFLICT, `${dir} exists and is not a directory (a link or a file): refusing to write crops through it`);
}

/**
 * Folder names that cannot collide: a video's further tracks are `<video>_<track>`, so no video
 * may be named like another's track folder, and names must stay inside the output directory.
 */
export function checkVideoNames(files: readonly string[], among = 'the inputs'): void {
  const names = files.map(videoName);
  const set = new Set(names);
  const first = new Map<string, string>();
  for (const [i, n] of names.entries()) {
    const f = files[i] ?? '';
    const other = first.get(n);
    if (other !== undefined) throw new SourceError(ErrorCodes.CONFLICT, `${other === f ? f : `${other} and ${f}`}: the name ${n} appears twice among ${among} (every file's faces are kept under its name)`);
    first.set(n, f);
    if (n === '' || n.startsWith('.')) throw new SourceError(ErrorCodes.BAD_REQUEST, `${files[i]}: a name that is empty or starts with "." cannot name its crops' folder`);
    const m = /^(.+)_\d+$/.exec(n);
    if (m !== null && set.has(m[1] ?? '')) throw new SourceError(ErrorCodes.CONFLICT, `${files[i]}: the name ${n} is the folder of a further track of ${m[1]}; rename it`);
  }
}

export const frameFile = (frame1: number): string => `${String(frame1).padStart(5, '0')}.jpg`;
const fmt = (x: number): string => (Math.round(x * 100) / 100).toString();

/**
 * The settings that shape the crops (which faces, where, how large, how compressed). An output
 * directory holds crops of one set of them: `<out>/.complete/.settings.json` records it at the
 * first video, and a later run with other values is refused rather than mixing crops of two
 * alignments under one name (or deleting what someone aligned).
 */
/** Starts with a dot: no video can be named so (checkVideoNames), so it never is a video's marker. */
const SETTINGS_FILE = '.settings.json';

export function cropSettings(o: Pick<AlignOptions, 'config' | 'quality'>): Record<string, unknown> {
  const { analysis: a, detector: d, tracker: t, alignment } = o.config;
  return {
    analysis: { maxWidth: a.maxWidth, analysisFps: a.analysisFps },
    detector: { minScore: d.minScore, minMeshScore: d.minMeshScore, iouThreshold: d.iouThreshold, maxFaces: d.maxFaces, detectEveryFrames: d.detectEveryFrames, minFaceSize: d.minFaceSize, engine: d.engine },
    tracker: { iouThreshold: t.iouThreshold, maxGapFrames: t.maxGapFrames },
    alignment: { size: alignment.size },
    quality: o.quality ?? 95,
  };
}

/** Dotted names of the leaves where two settings objects differ. */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at === '' ? k : `${at}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
}

/**
 * A small record of the output (settings, a completion marker) as text, or undefined when there is
 * none. Opened without following a link and without blocking, and only if it is a regular file of
 * at most 64 KiB: a planted link, FIFO or device is an error, not a hang or a read elsewhere.
 */
async function readRecord(file: string): Promise<string | undefined> {
  try {
    return await readRegularText(file, { maxBytes: 64 * 1024 });
  } catch (err) {
    if (!(err instanceof FileRefusedError)) throw err;
    if (err.reason === 'missing') return undefined;
    throw new SourceError(ErrorCodes.CONFLICT, `${file}: not a regular file of at most 64 KiB (it ${err.what}); remove it or align into another directory`, { cause: err });
  }
}

/** The first run of an output writes its settings; any later one compares against them. */
async function claimSettings(o: AlignOptions): Promise<void> {
  const dir = path.join(o.out, '.complete');
  const file = path.join(dir, SETTINGS_FILE);
  const wanted = cropSettings(o);
  ensureFolder(dir);
  let text = await readRecord(file);
  if (text === undefined) {
    // Exclusive: of two runs starting on a fresh output, one writes and the other compares.
    const part = `${file}.${process.pid}.part`;
    rmSync(part, { force: true });
    writeFileSync(part, JSON.stringify(wanted, null, 2) + '\n', { flag: 'wx' });
    try {
      linkSync(part, file);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(part);
    }
    text = (await readRecord(file)) ?? '';
  }
  let held: unknown;
  try {
    held = JSON.parse(text);
  } catch {
    throw new SourceError(ErrorCodes.CONFLICT, `${file}: not JSON; remove it or align into another directory`);
  }
  const diff = differences(held, wanted);
  if (diff.length > 0) {
    const shown = diff.slice(0, 6).map((k) => `${k} ${JSON.stringify(pick(held, k))} → ${JSON.stringify(pick(wanted, k))}`);
    throw new SourceError(ErrorCodes.CONFLICT, `${o.out} holds crops aligned with other settings (${shown.join(', ')}${diff.length > 6 ? ', …' : ''}): align into another directory, or remove it to start again`);
  }
}

function pick(obj: unknown, dotted: string): unknown {
  let v = obj;
  for (const k of dotted.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** A completion marker, or undefined when there is none or it is not one (then the video is aligned again). */
async function readMarker(file: string): Promise<Marker | undefined> {
  const text = await readRecord(file);
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Partial<Marker> | null;
    const ok = m !== null && typeof m === 'object' && typeof m.size === 'number' && typeof m.mtimeMs === 'number' && typeof m.frames === 'number' && typeof m.faces === 'number' && Array.isArray(m.folders) && m.folders.every((f) => typeof f === 'string') && (m.teacher === undefined || typeof m.teacher === 'string');
    return ok ? (m as Marker) : undefined;
  } catch {
    return undefined;
  }
}

export async function alignVideo(file: string, o: AlignOptions): Promise<AlignedVideo> {
  const video = videoName(file);
  checkVideoNames([file]);
  const markerFile = path.join(o.out, '.complete', `${video}.json`);
  const st = await stat(file);
  await claimSettings(o);
  const marker = await readMarker(markerFile);
  const teacherDone = o.teacher === undefined || (marker?.teacher === o.teacher.key && existsSync(softLabelFile(o.out, video, o.teacher.key)));
  if (marker !== undefined && marker.size === st.size && marker.mtimeMs === st.mtimeMs && teacherDone) {
    return { video, input: file, frames: marker.frames, faces: marker.faces, written: 0, folders: marker.folders, skipped: true };
  }
  await mkdir(o.out, { recursive: true });
  if (marker !== undefined && (marker.size !== st.size || marker.mtimeMs !== st.mtimeMs)) {
    // The file changed since it was aligned: its old crops describe other frames, so they go.
    for (const f of marker.folders) if (/^[^/\\]+$/.test(f) && f !== '.' && f !== '..') rmSync(path.join(o.out, f), { recursive: true, force: true });
  }
  const folders = new Map<number, string>();
  const csv: string[] = ['frame,track,folder,score,box_x,box_y,box_w,box_h,left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y'];
  let faces = 0;
  let written = 0;
  const quality = o.quality ?? 95;
  const soft: string[] = [];
  const teacher = o.teacher;
  const r = await readVideoFaces(file, o.detector, o.config, {
    frame: async (frame, found) => {
      if (o.signal?.aborted === true) throw new Error('aborted');
      const n = frame.seq + 1;
      for (const { face, crop } of found) {
        let folder = folders.get(face.trackId);
        if (folder === undefined) {
          folder = folders.size === 0 ? video : `${video}_${face.trackId}`;
          folders.set(face.trackId, folder);
          ensureFolder(path.join(o.out, folder));
        }
        const target = path.join(o.out, folder, frameFile(n));
        if (!existsSync(target)) {
          writeAtomicSync(target, encodeJpeg(crop.data, crop.width, crop.height, quality));
          written++;
        }
        faces++;
        const [bx, by, bw, bh] = face.box;
        csv.push([n, face.trackId, folder, fmt(face.score), fmt(bx), fmt(by), fmt(bw), fmt(bh), ...face.landmarks.flatMap(([x, y]) => [fmt(x), fmt(y)])].join(','));
      }
      if (teacher !== undefined && found.length > 0) {
        const probs = await teacher.label(found.map((f) => f.also ?? f.crop));
        found.forEach(({ face }, i) => {
          const p = probs[i];
          const folder = folders.get(face.trackId);
          if (p !== undefined && folder !== undefined) soft.push(JSON.stringify({ folder, frame: n, p: Array.from(p, (v) => Math.round(v * 1e6) / 1e6) } satisfies SoftLabelRow));
        });
      }
      o.events?.frame?.(video, n, faces);
    },
    tracksEnded: () => undefined,
  }, undefined, teacher !== undefined ? (face) => teacher.cropOf(face) : undefined);
  if (teacher !== undefined) {
    const file = softLabelFile(o.out, video, teacher.key);
    writeAtomicSync(file, soft.length > 0 ? soft.join('\n') + '\n' : '');
  }
  const csvFile = path.join(o.out, `${video}.landmarks.csv`);
  writeAtomicSync(csvFile, csv.join('\n') + '\n');
  const done: Marker = { size: st.size, mtimeMs: st.mtimeMs, frames: r.frames, faces, folders: [...folders.values()], ...(teacher !== undefined ? { teacher: teacher.key } : {}) };
  ensureFolder(path.dirname(markerFile));
  writeAtomicSync(markerFile, JSON.stringify(done));
  return { video, input: file, frames: r.frames, faces, written, folders: done.folders, skipped: false };
}

/**
 * What is wrong with one input (unreadable, not media, no video stream, too large, undecodable, no
 * such file): that video fails alone. Anything else — the output refusing the crops, an abort, a
 * bug — ends the run.
 */
export const INPUT_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.SOURCE_NOT_FOUND,
  ErrorCodes.SOURCE_OPEN,
  ErrorCodes.SOURCE_FORBIDDEN,
  ErrorCodes.SOURCE_TOO_LARGE,
  ErrorCodes.SOURCE_NO_VIDEO,
  ErrorCodes.UNSUPPORTED_CODEC,
  ErrorCodes.DECODE,
]);

export async function alignVideos(o: AlignOptions): Promise<AlignedVideo[]> {
  const files = await listVideos(o.input, o.stills === true);
  checkVideoNames(files);
  const out: AlignedVideo[] = [];
  for (const [i, file] of files.entries()) {
    if (o.signal?.aborted === true) break;
    const video = videoName(file);
    o.events?.videoStarted?.(video, i, files.length);
    let r: AlignedVideo;
    try {
      r = await alignVideo(file, o);
    } catch (err) {
      if (!(err instanceof AnalyticsError && INPUT_FAILURES.has(err.code))) throw err;
      o.events?.videoFailed?.(video, err);
      out.push({ video, input: file, frames: 0, faces: 0, written: 0, folders: [], skipped: false, failed: { code: err.code, message: err.message } });
      continue;
    }
    if (r.skipped) o.events?.videoSkipped?.(r.video, 'already aligned');
    else o.events?.videoDone?.(r);
    out.push(r);
  }
  return out;
}
