/**
 * AFEW-VA (spec §5.6): `<root>/{01..12}/<clip>/NNNNN.png` and `<clip>/<clip>.json` with
 * `{frames: {NNNNN: {valence, arousal, landmarks: 68×[x, y]}}}`; valence/arousal in [−10, 10] are
 * divided by 10. Faces are cut with the seed's §7.1 crop driven by the landmarks (eyes =
 * mean(36, 39) and mean(42, 45), nose 30, mouth corners 48 and 54) — the daemon's own alignment —
 * and written once to `<cacheDir>/<NN>_<clip>/NNNNN.png`. Both of the seed's splits are used.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FiveLandmarks, Point } from '../../core/records.js';
import { computeAlignment, cropAlignedFacesUint8 } from '../../models/face-aligner/index.js';
import { readImageFile } from '../../streams/decode-image.js';
import { encodePng } from '../../streams/encode-image.js';
import { DataFormatError, ReportBuilder } from './read-report.js';
import type { LabelledFace, ReadReport } from './types.js';

export interface AfewVaSource {
  readonly root: string;
  readonly cacheDir: string;
  /** Crop size (default 112). */
  readonly size?: number;
}

interface ClipFrame {
  readonly valence: number;
  readonly arousal: number;
  readonly landmarks: readonly Point[];
}

const mid = (a: Point, b: Point): Point => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];

/** The five §7.1 points from 68 landmarks. */
export function fivePointsOf68(lm: readonly Point[]): FiveLandmarks {
  return [mid(lm[36]!, lm[39]!), mid(lm[42]!, lm[45]!), lm[30]!, lm[48]!, lm[54]!];
}

function parseClip(text: string, file: string): Map<string, ClipFrame> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataFormatError(file, undefined, `not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const frames = (json as { frames?: unknown } | null)?.frames;
  if (typeof frames !== 'object' || frames === null || Array.isArray(frames)) throw new DataFormatError(file, undefined, 'expected an object with a "frames" object');
  const out = new Map<string, ClipFrame>();
  for (const [key, v] of Object.entries(frames as Record<string, unknown>)) {
    const f = v as { valence?: unknown; arousal?: unknown; landmarks?: unknown } | null;
    const where = `frame ${JSON.stringify(key)}`;
    if (!/^\d{1,6}$/.test(key)) throw new DataFormatError(file, undefined, `${where}: frame keys must be digits`);
    if (typeof f?.valence !== 'number' || typeof f.arousal !== 'number' || Math.abs(f.valence) > 10 || Math.abs(f.arousal) > 10) {
      throw new DataFormatError(file, undefined, `${where}: valence and arousal must be numbers in [-10, 10]`);
    }
    const lm = f.landmarks;
    if (!Array.isArray(lm) || lm.length !== 68 || !lm.every((p) => Array.isArray(p) && p.length === 2 && p.every((c) => typeof c === 'number' && Number.isFinite(c)))) {
      throw new DataFormatError(file, undefined, `${where}: landmarks must be 68 [x, y] number pairs`);
    }
    out.set(key, { valence: f.valence, arousal: f.arousal, landmarks: lm as Point[] });
  }
  return out;
}

const exists = async (p: string): Promise<boolean> => stat(p).then(
  (s) => s.isFile() && s.size > 0,
  () => false,
);

async function subdirs(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export async function readAfewVa(src: AfewVaSource, progress?: (clips: number) => void): Promise<{ faces: LabelledFace[]; report: ReadReport }> {
  const size = src.size ?? 112;
  const report = new ReportBuilder('AFEW-VA');
  const faces: LabelledFace[] = [];
  let parts: string[];
  try {
    parts = (await subdirs(src.root)).filter((d) => /^\d+$/.test(d));
  } catch (err) {
    throw new DataFormatError(src.root, undefined, `cannot list the AFEW-VA root (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  let clipsDone = 0;
  for (const part of parts) {
    for (const clip of await subdirs(path.join(src.root, part))) {
      const clipDir = path.join(src.root, part, clip);
      const jsonFile = path.join(clipDir, `${clip}.json`);
      let text: string;
      try {
        text = await readFile(jsonFile, 'utf8');
      } catch {
        report.skip('clip without its JSON annotation', jsonFile);
        continue;
      }
      const frames = parseClip(text, jsonFile);
      const video = `${part}_${clip}`;
      const outDir = path.join(src.cacheDir, video);
      await mkdir(outDir, { recursive: true });
      for (const [key, f] of [...frames].sort(([a], [b]) => Number(a) - Number(b))) {
        const out = path.join(outDir, `${key}.png`);
        if (!(await exists(out))) {
          // Content is sniffed: a frame that is really a JPEG is decoded as the seed's PIL decodes it.
          const img = await readImageFile(path.join(clipDir, `${key}.png`), { jpeg: 'pil' }).catch(() => undefined);
          if (img === undefined) {
            report.skip('frame image missing or undecodable', path.join(clipDir, `${key}.png`));
            continue;
          }
          const [crop] = cropAlignedFacesUint8(img, [computeAlignment(fivePointsOf68(f.landmarks), size)]);
          await writeFile(`${out}.part`, encodePng(crop!.data, crop!.width, crop!.height));
          await rename(`${out}.part`, out);
        }
        faces.push({ image: out, video, frame: Number(key), va: [f.valence / 10, f.arousal / 10] });
        report.keep();
      }
      progress?.(++clipsDone);
    }
  }
  return { faces, report: report.build() };
}
