/**
 * `daemon bench expressions`: the figures behind the default model's choice, measured on
 * unlabelled face video. Faces are found, aligned and tracked once by the daemon's own stages;
 * every row (each member of a packaged model alone, the model's ensemble, and any further model
 * directory, e.g. a trained student) then runs on the same faces, cut the way that model is fed
 * live. Per row: agreement with the reference (the first model's ensemble: top-1 and mean KL),
 * label changes per second of tracked face before and after the daemon's EMA smoothing, and
 * model cost per face.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import { openAffectModel, type AffectModel } from '../../models/affect/open-affect-model.js';
import { selectBackend, type BackendPreference } from '../../models/backend.js';
import { cropAlignedFacesUint8 } from '../../models/face-aligner/index.js';
import { FaceDetector } from '../../models/face-detector/index.js';
import { faceCropAlignment } from '../../models/packaged/face-crop.js';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import { createSmoother } from '../../pipeline/affect/smoothing.js';
import { readVideoFaces } from '../../predict/video-faces.js';
import { parseSourceUrl } from '../../streams/open-source.js';
import { agreement, stability, type Agreement, type Stability, type TrackSeries } from './expression-metrics.js';

export interface BenchExpressionsOptions {
  /** Video or image files, directories of them, or `demo:` (the demo animation, 48 s). */
  readonly inputs: readonly string[];
  /** Model directories; the first one's ensemble is the reference. */
  readonly models: readonly string[];
  /** Add FFmpeg variants of every file input (mirror, crop, half scale, darker, brighter). */
  readonly variants?: boolean;
  readonly backend?: BackendPreference;
  readonly progress?: (line: string) => void;
}

export interface BenchRowResult {
  readonly row: string;
  readonly model: string;
  readonly faces: number;
  readonly agreement: Agreement;
  readonly raw: Stability;
  readonly smoothed: Stability;
  /** Model time per face (batch = the faces of one frame), ms. */
  readonly msPerFace: number;
}

export interface BenchExpressionsResult {
  readonly backend: string;
  readonly inputs: readonly string[];
  readonly frames: number;
  readonly faces: number;
  readonly tracks: number;
  readonly rows: readonly BenchRowResult[];
  /** Top-1 agreement and mean KL(row ‖ column) for every pair of rows. */
  readonly pairs: readonly { readonly a: string; readonly b: string; readonly top1: number; readonly meanKl: number }[];
}

const MEDIA = /\.(mp4|mov|mkv|webm|avi|jpe?g|png|bmp)$/i;
const STILL = /\.(jpe?g|png|bmp)$/i;
export const VARIANTS: Readonly<Record<string, string>> = {
  mirror: 'hflip',
  crop80: 'crop=trunc(iw*0.4)*2:trunc(ih*0.4)*2',
  half: 'scale=trunc(iw/4)*2:-2',
  dark: 'eq=brightness=-0.15',
  bright: 'eq=brightness=0.15',
};

interface Row {
  readonly name: string;
  readonly model: string;
  readonly runner: AffectModel;
  readonly series: Map<string, { pts: number[]; probs: Float64Array[] }>;
  /** CNN-RNN rows decide a track at its end. */
  readonly pending: Map<string, { pts: number[]; caches: FrameCache[] }>;
  ms: number;
  faces: number;
}

function expandInputs(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    if (input.startsWith('demo:')) {
      out.push(input);
      continue;
    }
    let st;
    try {
      st = statSync(input);
    } catch (err) {
      throw new AnalyticsError(ErrorCodes.SOURCE_NOT_FOUND, `--input ${input}: not found`, { cause: err });
    }
    if (st.isDirectory()) {
      out.push(...readdirSync(input).filter((n) => MEDIA.test(n)).sort().map((n) => path.join(input, n)));
    } else out.push(input);
  }
  if (out.length === 0) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, '--input: no video or image files');
  return out;
}

/** FFmpeg (CLI) variants of the file inputs, written to `dir`. */
function makeVariants(files: readonly string[], dir: string): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (file.startsWith('demo:')) continue;
    const still = STILL.test(file);
    for (const [name, filter] of Object.entries(VARIANTS)) {
      const target = path.join(dir, `${path.basename(file).replace(/\.[^.]+$/, '')}.${name}.${still ? 'png' : 'mp4'}`);
      const codec = still ? [] : ['-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p'];
      try {
        execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', file, '-vf', filter, ...codec, target], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--variants: ffmpeg could not make the ${name} variant of ${file}: ${(err as Error).message}`, { cause: err });
      }
      out.push(target);
    }
  }
  return out;
}

/** Rows of one model directory: each packaged member alone, then the whole model. */
async function rowsOf(dir: string, rows: Row[]): Promise<void> {
  const row = (name: string, model: AffectModel): Row => ({ name, model: dir, runner: model, series: new Map(), pending: new Map(), ms: 0, faces: 0 });
  // The engines the daemon uses by default (seed members on ONNX Runtime where it loads), so a
  // row's cost per face is what the daemon would pay; sessions on all cores, as measured so far.
  const open = (member?: string): Promise<AffectModel> =>
    openAffectModel(dir, { placement: 'thread', backend: 'auto', engine: 'auto', reserveCore: false, ...(member !== undefined ? { member } : {}) });
  const whole = await open();
  const members = whole.manifest.architecture === 'packaged-expression' && whole.memberInfo.length > 1 ? whole.memberInfo.map((m) => m.name) : [];
  // Owned by `rows` as soon as each is open, so a failure part-way still closes them all.
  try {
    for (const name of members) rows.push(row(name, await open(name)));
  } finally {
    rows.push(row(`${whole.manifest.id}${members.length > 0 ? ' (ensemble)' : ''}`, whole));
  }
}

function smoothSeries(t: TrackSeries): TrackSeries {
  const s = createSmoother<string>('ema', { constraint: 'simplex' });
  return { key: t.key, pts: t.pts, probs: t.probs.map((p, i) => s.apply(t.key, t.pts[i]!, p)) };
}

export async function benchExpressions(o: BenchExpressionsOptions): Promise<BenchExpressionsResult> {
  const progress = o.progress ?? (() => undefined);
  const backend = await selectBackend(o.backend ?? 'auto');
  const cfg = loadConfig({ env: {} });
  let inputs = expandInputs(o.inputs);
  const tmp = o.variants === true ? mkdtempSync(path.join(tmpdir(), 'va-bench-variants-')) : undefined;
  const rows: Row[] = [];
  let detector: FaceDetector | undefined;
  try {
    if (tmp !== undefined) inputs = [...inputs, ...makeVariants(inputs, tmp)];
    if (o.models.length === 0) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, '--model: at least one model directory');
    for (const m of o.models) await rowsOf(m, rows);
    // The reference is the first model as a whole (its ensemble): its rows come first, whole model last.
    const reference = rows.filter((r) => r.model === o.models[0]).at(-1)!;
    // Kernels compile on first use: one pass per row before anything is timed.
    for (const row of rows) {
      const side = row.runner.cropSize ?? cfg.alignment.size;
      await row.runner.runCnn([{ data: new Uint8Array(side * side * 3), width: side, height: side }]);
    }
    detector = await FaceDetector.load();
    let frames = 0;
    let faces = 0;
    const tracks = new Set<string>();
    for (const input of inputs) {
      const label = input.startsWith('demo:') ? input : path.basename(input);
      const key = (trackId: number): string => `${label}#${trackId}`;
      const r = await readVideoFaces(input.startsWith('demo:') ? parseSourceUrl(input) : input, detector, cfg, {
        frame: async (frame, found) => {
          if (found.length === 0) return;
          faces += found.length;
          for (const row of rows) {
            const size = row.runner.cropSize ?? cfg.alignment.size;
            const crops = cropAlignedFacesUint8(frame.image, found.map((f) => faceCropAlignment(f.face, row.runner.crop, size)), frame.image.width / frame.sourceWidth);
            const t0 = performance.now();
            const caches = await row.runner.runCnn(crops);
            const decisions = row.runner.kind === 'cnn' ? row.runner.decideCnn(caches) : undefined;
            row.ms += performance.now() - t0;
            row.faces += found.length;
            found.forEach(({ face }, i) => {
              const k = key(face.trackId);
              tracks.add(k);
              if (decisions) {
                const s = row.series.get(k) ?? { pts: [], probs: [] };
                row.series.set(k, s);
                s.pts.push(frame.pts);
                s.probs.push(decisions[i]!.expr.probabilities);
              } else {
                const p = row.pending.get(k) ?? { pts: [], caches: [] };
                row.pending.set(k, p);
                p.pts.push(frame.pts);
                p.caches.push(caches[i]!);
              }
            });
          }
        },
        tracksEnded: async (ids) => {
          for (const row of rows) {
            for (const id of ids) {
              const p = row.pending.get(key(id));
              if (!p) continue;
              row.pending.delete(key(id));
              const t0 = performance.now();
              const decided = await row.runner.decideSequence(p.caches, 8);
              row.ms += performance.now() - t0;
              row.series.set(key(id), { pts: p.pts, probs: decided.map((d) => d.expr.probabilities) });
            }
          }
        },
      });
      frames += r.frames;
      progress(`${label}: ${r.frames} frame(s); ${faces} face(s) so far`);
    }
    if (faces === 0) throw new AnalyticsError(ErrorCodes.INFERENCE, 'no faces found in the inputs');
    const seriesOf = (row: Row): TrackSeries[] => [...row.series.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => ({ key: k, pts: s.pts, probs: s.probs }));
    const refSeries = seriesOf(reference);
    const results: BenchRowResult[] = rows.map((row) => {
      const s = seriesOf(row);
      return {
        row: row.name,
        model: row.model,
        faces: row.faces,
        agreement: agreement(refSeries, s),
        raw: stability(s),
        smoothed: stability(s.map(smoothSeries)),
        msPerFace: row.faces > 0 ? row.ms / row.faces : NaN,
      };
    });
    const pairs = rows.flatMap((a, i) =>
      rows.slice(i + 1).map((b) => {
        const g = agreement(seriesOf(a), seriesOf(b));
        return { a: a.name, b: b.name, top1: g.top1, meanKl: g.meanKl };
      }),
    );
    return { backend: backend.name, inputs: inputs.map((i) => (i.startsWith('demo:') ? i : path.basename(i))), frames, faces, tracks: tracks.size, rows: results, pairs };
  } finally {
    detector?.close();
    for (const r of rows) await r.runner.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatBenchExpressions(r: BenchExpressionsResult): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const lines = [
    `backend ${r.backend}; ${r.inputs.length} input(s), ${r.frames} frame(s), ${r.faces} face(s), ${r.tracks} track(s)`,
    '',
    '| row | top-1 agreement with the reference | mean KL (reference ‖ row), nats | label changes/s raw | label changes/s EMA | ms per face |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.row} | ${pct(x.agreement.top1)} | ${f(x.agreement.meanKl, 3)} | ${f(x.raw.changesPerSecond)} | ${f(x.smoothed.changesPerSecond)} | ${f(x.msPerFace)} |`),
    '',
    ...r.pairs.map((p) => `${p.a} vs ${p.b}: top-1 ${pct(p.top1)}, mean KL(${p.a} ‖ ${p.b}) ${f(p.meanKl, 3)}`),
    `(stability over ${f(r.rows[0]?.raw.seconds ?? NaN, 1)} s of tracked faces; EMA τ = 0.25 s, the daemon's default)`,
  ];
  return lines.join('\n');
}
