/**
 * A small, learnable dataset in the Aff-Wild2 layout for tests and demos: "videos" of 112×112
 * face-like images whose labels are visible in the pixels, with AU_Set / EXPR_Set / VA_Set label
 * files for a training and a validation split. Deterministic in its seed.
 *
 * What encodes what (all flip- and shift-invariant, so the seed's augmentation keeps labels true):
 * - EXPR k: the colour of the face ellipse, one of 7 pastel colours (every channel ≥ 150).
 * - AU j active: a 10×10 marker in the AU's own dark colour (every channel ≤ 90) inside the face.
 * - valence: the red level of the background, arousal: its blue level (green is fixed at 210).
 * Rows with missing markers (−1 / −5) and frames without an image are sprinkled in, as in the real
 * data, so readers skip them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeJpeg, encodePng } from '../../streams/encode-image.js';
import { affWild2ImageName, type AffWild2Source } from './aff-wild2.js';
import { Rng } from './rng.js';

export const SYNTHETIC_EXPR_COLOURS: readonly (readonly [number, number, number])[] = [
  [160, 160, 160],
  [255, 160, 160],
  [160, 255, 160],
  [160, 160, 255],
  [255, 255, 160],
  [255, 160, 255],
  [160, 255, 255],
];
export const SYNTHETIC_AU_COLOURS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [90, 0, 0],
  [0, 90, 0],
  [0, 0, 90],
  [90, 90, 0],
  [90, 0, 90],
  [0, 90, 90],
  [90, 90, 90],
];
/** Base rate of each AU (some rare, as in the real data, so ML-ROS has something to do). */
const AU_RATES = [0.45, 0.2, 0.35, 0.5, 0.5, 0.12, 0.15, 0.55];

export interface SyntheticLabels {
  readonly expr: number;
  readonly au: readonly number[];
  readonly va: readonly [number, number];
}

export interface SyntheticAffWild2Options {
  /** Directory to write (created); gets `cropped_aligned/` and `annotations/`. */
  readonly root: string;
  readonly seed?: number;
  readonly trainVideos?: number;
  readonly valVideos?: number;
  readonly framesPerVideo?: number;
  readonly size?: number;
  /** Share of label rows carrying the task's missing marker (default 0.04). */
  readonly missingRate?: number;
  /** Share of frames written without an image, as frames where no face was found (default 0.03). */
  readonly droppedImageRate?: number;
  readonly format?: 'jpg' | 'png';
  readonly jpegQuality?: number;
}

export interface SyntheticAffWild2 extends AffWild2Source {
  readonly root: string;
  readonly videos: { readonly train: readonly string[]; readonly val: readonly string[] };
  /** Every frame's true labels, by video (including rows written as missing and dropped images). */
  readonly truth: ReadonlyMap<string, readonly SyntheticLabels[]>;
  readonly images: string;
  readonly imageExt: string;
  readonly imagesWritten: number;
}

/** Draws a face for `labels`; `rng` adds the per-image jitter and noise. HWC RGB bytes. */
export function renderSyntheticFace(labels: SyntheticLabels, size: number, rng: Rng): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  const bg = [128 + 100 * labels.va[0], 210, 128 + 100 * labels.va[1]];
  const cx = size / 2 + (rng.next() - 0.5) * 0.08 * size;
  const cy = size / 2 + (rng.next() - 0.5) * 0.08 * size;
  const ax = 0.3 * size;
  const ay = 0.38 * size;
  const skin = SYNTHETIC_EXPR_COLOURS[labels.expr]!;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - cx) / ax;
      const dy = (y + 0.5 - cy) / ay;
      const c = dx * dx + dy * dy <= 1 ? skin : bg;
      const i = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) img[i + ch] = Math.max(0, Math.min(255, Math.round(c[ch]! + (rng.next() - 0.5) * 12)));
    }
  }
  const fill = (x0: number, y0: number, w: number, h: number, c: readonly number[]): void => {
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(size, Math.round(y0 + h)); y++) {
      for (let x = Math.max(0, Math.round(x0)); x < Math.min(size, Math.round(x0 + w)); x++) {
        const i = (y * size + x) * 3;
        img[i] = c[0]!;
        img[i + 1] = c[1]!;
        img[i + 2] = c[2]!;
      }
    }
  };
  // Eyes and mouth in white: face-like, and a colour no label uses.
  const eye = 0.07 * size;
  fill(cx - 0.14 * size - eye / 2, cy - 0.12 * size, eye, eye * 0.6, [255, 255, 255]);
  fill(cx + 0.14 * size - eye / 2, cy - 0.12 * size, eye, eye * 0.6, [255, 255, 255]);
  fill(cx - 0.1 * size, cy + 0.2 * size, 0.2 * size, 0.04 * size, [255, 255, 255]);
  // AU markers on a jittered 4×2 grid inside the face (their colour, not their place, is the label).
  const m = Math.round(0.09 * size);
  labels.au.forEach((on, j) => {
    if (on !== 1) return;
    const gx = cx + (j % 2 === 0 ? -0.12 : 0.04) * size + (rng.next() - 0.5) * 0.04 * size;
    const gy = cy + (-0.3 + 0.13 * Math.floor(j / 2)) * size + (rng.next() - 0.5) * 0.03 * size;
    fill(gx, gy + (j >= 2 && j < 4 ? 0.08 * size : 0), m, m, SYNTHETIC_AU_COLOURS[j]!);
  });
  return img;
}

function videoLabels(frames: number, rng: Rng): SyntheticLabels[] {
  const out: SyntheticLabels[] = [];
  let expr = rng.int(7);
  let left = 4 + rng.int(10);
  const au = AU_RATES.map((p) => (rng.next() < p ? 1 : 0));
  let v = rng.next() * 1.6 - 0.8;
  let a = rng.next() * 1.6 - 0.8;
  for (let k = 0; k < frames; k++) {
    if (left-- <= 0) {
      expr = rng.int(7);
      left = 4 + rng.int(10);
    }
    // Each AU re-draws from its base rate now and then: runs of frames, as in video.
    for (let j = 0; j < 8; j++) if (rng.next() < 0.25) au[j] = rng.next() < AU_RATES[j]! ? 1 : 0;
    v = Math.max(-1, Math.min(1, v + (rng.next() - 0.5) * 0.3));
    a = Math.max(-1, Math.min(1, a + (rng.next() - 0.5) * 0.3));
    out.push({ expr, au: [...au], va: [Math.round(v * 1000) / 1000, Math.round(a * 1000) / 1000] });
  }
  return out;
}

export async function writeSyntheticAffWild2(o: SyntheticAffWild2Options): Promise<SyntheticAffWild2> {
  const seed = o.seed ?? 1;
  const size = o.size ?? 112;
  const frames = o.framesPerVideo ?? 40;
  const missingRate = o.missingRate ?? 0.04;
  const droppedRate = o.droppedImageRate ?? 0.03;
  const format = o.format ?? 'jpg';
  const ext = `.${format}`;
  const images = path.join(o.root, 'cropped_aligned');
  const annotations = path.join(o.root, 'annotations');
  const splits = [
    ['Training_Set', Array.from({ length: o.trainVideos ?? 6 }, (_, i) => `train_${String(i + 1).padStart(3, '0')}`)],
    ['Validation_Set', Array.from({ length: o.valVideos ?? 2 }, (_, i) => `val_${String(i + 1).padStart(3, '0')}`)],
  ] as const;
  const truth = new Map<string, SyntheticLabels[]>();
  let written = 0;
  for (const [split, videos] of splits) {
    for (const dir of ['AU_Set', 'EXPR_Set', 'VA_Set']) await mkdir(path.join(annotations, dir, split), { recursive: true });
    for (const [vi, video] of videos.entries()) {
      const rng = Rng.of(seed, split === 'Training_Set' ? 0 : 1, vi);
      const labels = videoLabels(frames, rng);
      truth.set(video, labels);
      const vdir = path.join(images, video);
      await mkdir(vdir, { recursive: true });
      const au = ['AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25'];
      const ex = ['Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise'];
      const va = ['valence,arousal'];
      for (const [k, l] of labels.entries()) {
        const miss = (): boolean => rng.next() < missingRate;
        // A single −1 among the eight drops an AU row, as in Aff-Wild2.
        const hole = miss() ? rng.int(8) : -1;
        au.push(l.au.map((x, j) => (j === hole ? -1 : x)).join(','));
        ex.push(miss() ? '-1' : String(l.expr));
        va.push(miss() ? '-5,-5' : `${l.va[0]},${l.va[1]}`);
        if (rng.next() < droppedRate) continue;
        const rgb = renderSyntheticFace(l, size, rng);
        const bytes = format === 'png' ? encodePng(rgb, size, size) : encodeJpeg(rgb, size, size, o.jpegQuality ?? 95);
        await writeFile(path.join(vdir, affWild2ImageName(k, ext)), bytes);
        written++;
      }
      await writeFile(path.join(annotations, 'AU_Set', split, `${video}.txt`), au.join('\n') + '\n');
      await writeFile(path.join(annotations, 'EXPR_Set', split, `${video}.txt`), ex.join('\n') + '\n');
      await writeFile(path.join(annotations, 'VA_Set', split, `${video}.txt`), va.join('\n') + '\n');
    }
  }
  return {
    root: o.root,
    annotations,
    images,
    imageExt: ext,
    imagesWritten: written,
    videos: { train: splits[0][1], val: splits[1][1] },
    truth,
  };
}
