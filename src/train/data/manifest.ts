/**
 * A generic JSON-lines manifest for anyone's labelled faces: one object per line,
 * `{"image": "faces/a.jpg", "au"?: [8 × 0/1], "expr"?: 0..6, "va"?: [v, a], "video"?: "id",
 * "frame"?: n}`, image paths relative to the manifest's directory (absolute paths are allowed).
 * Labels use the seed's orders (AU1, AU2, AU4, AU6, AU12, AU15, AU20, AU25; Neutral, Anger,
 * Disgust, Fear, Happiness, Sadness, Surprise). Blank lines and lines starting with `#` are ignored;
 * anything else malformed is an error naming the file and line. A line may carry any subset of
 * labels; `facesFor(task)` keeps those with the task's label.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError, ReportBuilder, readDataFile, textLines } from './read-report.js';
import type { LabelledFace, ReadReport, Task } from './types.js';

const KEYS = new Set(['image', 'au', 'expr', 'va', 'video', 'frame']);

function parseLine(line: string, file: string, n: number, dir: string): LabelledFace {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new DataFormatError(file, n, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new DataFormatError(file, n, 'expected a JSON object');
  const r = o as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) throw new DataFormatError(file, n, `unknown key(s) ${unknown.join(', ')} (allowed: image, au, expr, va, video, frame)`);
  if (typeof r.image !== 'string' || r.image === '') throw new DataFormatError(file, n, '"image" must be a non-empty path');
  const face: { -readonly [K in keyof LabelledFace]: LabelledFace[K] } = { image: path.resolve(dir, r.image) };
  if (r.au !== undefined) {
    if (!Array.isArray(r.au) || r.au.length !== 8 || !r.au.every((x) => x === 0 || x === 1)) throw new DataFormatError(file, n, '"au" must be 8 values 0/1 (AU1, AU2, AU4, AU6, AU12, AU15, AU20, AU25)');
    face.au = r.au as number[];
  }
  if (r.expr !== undefined) {
    if (!Number.isInteger(r.expr) || (r.expr as number) < 0 || (r.expr as number) > 6) throw new DataFormatError(file, n, '"expr" must be an integer 0..6');
    face.expr = r.expr as number;
  }
  if (r.va !== undefined) {
    const va = r.va;
    if (!Array.isArray(va) || va.length !== 2 || !va.every((x) => typeof x === 'number' && x >= -1 && x <= 1)) throw new DataFormatError(file, n, '"va" must be [valence, arousal] in [-1, 1]');
    face.va = [va[0] as number, va[1] as number];
  }
  if (r.video !== undefined) {
    if (typeof r.video !== 'string' || r.video === '') throw new DataFormatError(file, n, '"video" must be a non-empty string');
    face.video = r.video;
  }
  if (r.frame !== undefined) {
    if (!Number.isInteger(r.frame) || (r.frame as number) < 0) throw new DataFormatError(file, n, '"frame" must be an integer ≥ 0');
    face.frame = r.frame as number;
  }
  if (face.au === undefined && face.expr === undefined && face.va === undefined) throw new DataFormatError(file, n, 'no label (au, expr or va)');
  return face;
}

export interface Manifest {
  readonly faces: readonly LabelledFace[];
  readonly report: ReadReport;
}

export async function readManifest(file: string): Promise<Manifest> {
  const text = (await readDataFile(file, 'manifest')).toString('utf8');
  const dir = path.dirname(path.resolve(file));
  const report = new ReportBuilder(`manifest ${file}`);
  const parsed: LabelledFace[] = [];
  textLines(text).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    parsed.push(parseLine(t, file, i + 1, dir));
  });
  // Existence by directory listing: one readdir per folder instead of a stat per image.
  const listings = new Map<string, Set<string>>();
  const faces: LabelledFace[] = [];
  for (const f of parsed) {
    const d = path.dirname(f.image);
    let names = listings.get(d);
    if (names === undefined) {
      names = new Set(await readdir(d).catch(() => [] as string[]));
      listings.set(d, names);
    }
    if (!names.has(path.basename(f.image))) {
      report.skip('image not found', f.image);
      continue;
    }
    faces.push(f);
    report.keep();
  }
  return { faces, report: report.build() };
}

/** The faces carrying `task`'s label. */
export function facesFor(task: Task, faces: readonly LabelledFace[]): LabelledFace[] {
  return faces.filter((f) => (task === 'AU' ? f.au !== undefined : task === 'EXPR' ? f.expr !== undefined : f.va !== undefined));
}
