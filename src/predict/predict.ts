/**
 * `daemon predict` (the seed's `run_pretrained_model.py` as a command): a model directory and a
 * directory of aligned face images (one sequence) or a video file (one sequence per track) →
 * one row per frame (and track) in JSON Lines or CSV.
 */
import { decidePlacement, loaderEngine } from '../models/placement/decide-placement.js';
import { sessionProviders, type DevicePreference, type Placement } from '../models/placement/placement.js';
import { probeHost } from '../models/placement/probe-host.js';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AnalyticsError, ErrorCodes, InferenceError, SourceError } from '../core/errors.js';
import { selectBackend, type BackendPreference } from '../models/backend.js';
import { FaceDetector } from '../models/face-detector/index.js';
import { modelCropAlignment } from '../models/packaged/face-crop.js';
import { isSeedManifest, providesAuVa, runnerEngine, type AffectRunner } from '../models/affect/affect-runner.js';
import { openAffectModel, type AffectModel } from '../models/affect/open-affect-model.js';
import { listImages, readImage } from './image-dir.js';
import { PredictSink } from './predict-sink.js';
import { RowWriter, rowFormatOf } from './row-writer.js';
import type { EnginePreference } from '../models/ensemble/member-runner.js';
import type { TrackId } from '../core/ids.js';
import { EyeClosure } from '../pipeline/quality/eye-closure.js';
import { qualityOf } from '../pipeline/to-events.js';
import { readVideoFaces } from './video-faces.js';
import { RenderCollector, renderAnnotated } from './render-annotated.js';
import { loadCalibrationFaces } from '../pipeline/int8-calibration-faces.js';
import type { Int8Calibration } from '../models/onnx/int8-calibration.js';
import { Fp32Comparison, formatAgreement, type Fp32Agreement } from './compare-fp32.js';
import type { SeedWindowMode } from '../models/seed/seed-windows.js';

/** The annotated video's container follows its extension. */
function renderFormatOf(file: string): void {
  if (!/\.(mp4|mkv|mov)$/i.test(file)) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--render ${file}: the file name must end in .mp4, .mkv or .mov`);
}

export interface PredictOptions {
  readonly model: string;
  readonly input: string;
  /** Rows file (.jsonl or .csv); may be omitted with `renderOnly`. */
  readonly out?: string;
  /** A video file (.mp4, .mkv, .mov) of the input annotated in the seed's demo layout. */
  readonly render?: string;
  /** Only the annotated video: no rows file. */
  readonly renderOnly?: boolean;
  /** Add per-member outputs to every row. */
  readonly members?: boolean;
  readonly backend?: BackendPreference;
  /** Inference engine of the affect models (default auto: ONNX Runtime where it loads). */
  readonly engine?: EnginePreference;
  /** Where the face and affect models run (default auto: a usable GPU, else the CPU). */
  readonly device?: DevicePreference;
  /** Intra-op threads per ONNX Runtime session (0: one per core). */
  readonly threads?: number;
  /** `onnx-int8`: directory of aligned face crops to calibrate on (default: the photos shipped with face-api). */
  readonly calibration?: string;
  /** `onnx-int8`: also run fp32 ONNX Runtime on the same faces and report the agreement. */
  readonly compareFp32?: boolean;
  /**
   * Model worker threads sharing the CNN and GRU batches (default: one per two cores for a video,
   * 1 for a directory of images); 1 runs the model on the calling thread. Rows are the same for any number.
   */
  readonly workers?: number;
  /** Faces per CNN batch, and windows per GRU batch (default 8). */
  readonly batch?: number;
  /**
   * CNN-RNN windows: `complete` (default) gives every frame an output; `authors` cuts a sequence
   * shorter than seqLen as the authors' code does, leaving its first frames without a row.
   */
  readonly windows?: SeedWindowMode;
  /** Daemon config file whose analysis/detector/tracker/alignment settings a video uses. */
  readonly config?: string;
  /** Progress lines (the CLI sends them to stderr). */
  readonly progress?: (line: string) => void;
}

export interface PredictSummary {
  readonly input: 'images' | 'video';
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly backend: string;
  /** `onnx`, `tfjs` or `hybrid`. */
  readonly engine: string;
  /** Model worker threads (0: the model ran on the calling thread). */
  readonly workers: number;
  /** `onnx-int8`: the calibration set's name. */
  readonly calibration?: string;
  /** With `compareFp32`: how the int8 decisions agree with fp32's. */
  readonly agreement?: Fp32Agreement;
  /** Images read, or video frames analysed. */
  readonly frames: number;
  readonly faces: number;
  readonly rows: number;
  readonly seconds: number;
  readonly rendered?: { readonly file: string; readonly frames: number; readonly codec: string; readonly audio: boolean };
}

async function inputKind(input: string): Promise<'images' | 'video'> {
  try {
    return (await stat(input)).isDirectory() ? 'images' : 'video';
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `--input ${input}: not found`, { cause: err });
  }
}

export async function predict(o: PredictOptions): Promise<PredictSummary> {
  const t0 = performance.now();
  const batch = o.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--batch must be a positive integer, got ${batch}`);
  if (o.renderOnly === true && o.render === undefined) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, '--render-only needs --render <file>');
  const out = o.renderOnly === true ? undefined : o.out;
  if (out === undefined && o.renderOnly !== true) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, '--out <file> is required (unless --render-only)');
  if (out !== undefined) rowFormatOf(out);
  if (o.render !== undefined) renderFormatOf(o.render);
  const input = await inputKind(o.input);
  if (o.render !== undefined && input !== 'video') throw new AnalyticsError(ErrorCodes.BAD_REQUEST, '--render needs a video --input (not a directory of images)');
  const cores = availableParallelism();
  // As the daemon's model.workers: one model worker per two cores, each session with a share of the
  // cores. On 2 cores that is the model on this thread, its ONNX Runtime session running
  // asynchronously on both cores beside decoding and detection: measured the faster here (README).
  // A directory of aligned faces is read file by file and stays on this thread unless asked.
  const workers = o.workers ?? (input === 'video' ? Math.max(1, Math.floor(cores / 2)) : 1);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--workers must be an integer from 1 to 64, got ${workers}`);
  const progress = o.progress ?? (() => undefined);
  const engine = o.engine ?? 'auto';
  if (engine !== 'onnx-int8' && (o.compareFp32 === true || o.calibration !== undefined)) {
    throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `${o.compareFp32 === true ? '--compare-fp32' : '--calibration'} needs --engine onnx-int8`);
  }
  // A video uses the daemon's own analysis settings (defaults, or --config), never the environment.
  const cfg: Config = loadConfig({ ...(o.config !== undefined ? { file: o.config } : {}), env: {} });
  const backend = await selectBackend(o.backend ?? 'auto');
  progress(`backend ${backend.name}`);
  const device = o.device ?? 'auto';
  const capabilities = await probeHost(backend);
  const faceReq = { model: 'face models', engine: 'auto', device, threads: 1 } as const;
  const facePlacement = decidePlacement(faceReq, capabilities);
  let detector: FaceDetector | undefined;
  // The face models load while the affect model does (its workers boot on their own threads).
  let detecting: Promise<FaceDetector> | undefined;
  let writer: RowWriter | undefined;
  let affect: AffectModel | undefined;
  /** `affect`, or `affect` compared with `reference` on every call (`--compare-fp32`). */
  let runner: AffectRunner | undefined;
  let reference: AffectModel | undefined;
  let comparison: Fp32Comparison | undefined;
  let calibration: Int8Calibration | undefined;
  try {
    if (input === 'video' && engine !== 'onnx-int8') {
      progress(`placement face models: ${describePlacement(facePlacement)}`);
      detecting = FaceDetector.load({ engine: loaderEngine(faceReq, facePlacement), providers: sessionProviders(facePlacement) });
      // Awaited below, or in `finally` on a failure before that.
      detecting.catch(() => undefined);
    }
    if (engine === 'onnx-int8') {
      calibration = await loadCalibrationFaces({ dir: o.calibration ?? null, alignSize: cfg.alignment.size });
      progress(`int8 calibration: ${calibration.name}`);
    }
    // One worker: the model on this thread, its sessions using every core. Several: each worker's
    // sessions get an equal share of the cores, and batches run on all of them at once.
    const opening = {
      backend: o.backend ?? 'auto',
      engine,
      device,
      capabilities,
      reserveCore: false,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
    } as const;
    affect = await openAffectModel(o.model, { ...opening, placement: workers > 1 ? { workers } : 'thread', includeMembers: o.members === true, ...(calibration !== undefined ? { calibration } : {}) });
    runner = affect;
    progress(`placement affect model: ${describePlacement(affect.placement)}`);
    if (o.compareFp32 === true) {
      reference = await openAffectModel(o.model, { ...opening, engine: 'onnx', device: 'cpu', placement: 'thread' });
      comparison = new Fp32Comparison(reference);
      runner = comparison.wrap(runner);
    }
    const model = runner;
    const m = runner.manifest;
    const auVa = providesAuVa(m);
    progress(`model ${m.id} ${m.version}: ${m.architecture} ${m.kind}${isSeedManifest(m) && m.seqLen !== undefined ? ` seq_len ${m.seqLen}` : ''}, ${runner.memberInfo.length} member(s)${auVa ? '' : ', expressions only'}`);
    progress(`engine ${runnerEngine(runner)}${runner.fallback !== undefined ? ` (ONNX Runtime unavailable: ${runner.fallback})` : ''}, ${workers > 1 ? `${workers} model workers` : 'model on the main thread'}`);
    const baseline = input === 'video' && cfg.baseline.enabled;
    writer = out !== undefined ? RowWriter.open(out, { video: input === 'video', members: o.members === true ? runner.memberInfo.map((x) => x.name) : [], auVa, trust: true, baseline, quality: input === 'video' }) : undefined;
    const collector = o.render !== undefined ? new RenderCollector({ au: auVa, expr: true, va: auVa }) : undefined;
    const rowsOut = writer;
    let rows = 0;
    const sink = new PredictSink(
      runner,
      {
        write: (row) => {
          rows++;
          rowsOut?.write(row);
          collector?.row(row);
        },
      },
      batch,
      workers,
      o.windows ?? 'complete',
      baseline ? cfg.baseline : undefined,
    );
    let frames = 0;
    if (input === 'images') {
      const names = await listImages(o.input);
      progress(`${names.length} image(s) in ${o.input}`);
      for (const [i, name] of names.entries()) {
        await sink.add(0, { frame: i, source: name }, await readImage(path.join(o.input, name)));
        frames++;
        if (frames % 200 === 0) progress(`${frames}/${names.length} images`);
      }
      await sink.finish();
    } else {
      detector = await (detecting ?? FaceDetector.load());
      const source = path.basename(o.input);
      let tracks = 0;
      const seen = new Set<number>();
      // Eye state per track, as the live faces events carry it (the same frames in the same order).
      const eyes = new EyeClosure();
      const r = await readVideoFaces(o.input, detector, cfg, {
        frame: async (frame, faces) => {
          collector?.frame(frame.seq, faces.map(({ face }) => ({ trackId: face.trackId, box: face.box })));
          for (const { face, crop } of faces) {
            if (!seen.has(face.trackId)) {
              seen.add(face.trackId);
              tracks++;
            }
            const state = face.quality?.eyes && eyes.update(face.trackId, { frame: frame.seq, pts: frame.pts, wallTime: frame.wallTime }, face.quality.eyes).state;
            // A gated face gets no affect analysis live (config `quality`): no row here either.
            if ((face.quality?.gated.length ?? 0) > 0) continue;
            await sink.add(face.trackId, { frame: frame.seq, source, trackId: face.trackId, pts: frame.pts, quality: qualityOf(face, state) }, crop);
          }
          if ((frame.seq + 1) % 100 === 0) progress(`frame ${frame.seq + 1}: ${sink.faces} face(s), ${tracks} track(s)`);
        },
        tracksEnded: async (ids) => {
          for (const id of ids) eyes.forget(id as TrackId);
          for (const id of ids) await sink.endSequence(id);
        },
      }, (face) => modelCropAlignment(face, model));
      await sink.finish();
      frames = r.frames;
      progress(`${frames} frame(s), ${sink.faces} face(s), ${tracks} track(s)`);
      if (sink.faces === 0) throw new InferenceError(ErrorCodes.INFERENCE, `${o.input}: no faces found in ${frames} frame(s)`);
    }
    writer?.close();
    if (out !== undefined) progress(`${rows} row(s) → ${out}`);
    const agreement = comparison?.result();
    if (agreement !== undefined) progress(formatAgreement(agreement));
    let rendered: PredictSummary['rendered'];
    if (o.render !== undefined && collector) {
      progress(`rendering ${o.render}`);
      const r = await renderAnnotated(o.input, o.render, collector);
      rendered = { file: o.render, frames: r.frames, codec: r.codec, audio: r.audio };
      progress(`${r.frames} frame(s) ${r.width}×${r.height} ${r.codec}${r.audio ? ' + audio (copied)' : ''} → ${o.render}`);
    }
    return {
      input,
      kind: runner.kind,
      backend: backend.name,
      engine: runnerEngine(runner),
      workers: workers > 1 ? workers : 0,
      ...(calibration !== undefined ? { calibration: calibration.name } : {}),
      ...(agreement !== undefined ? { agreement } : {}),
      frames,
      faces: sink.faces,
      rows,
      seconds: (performance.now() - t0) / 1000,
      ...(rendered ? { rendered } : {}),
    };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    detector ??= await detecting?.catch(() => undefined);
    detector?.close();
    await affect?.close();
    await reference?.close();
  }
}

/** `onnx on cuda (gpu NVIDIA L4), 4 threads`: the placement in one line of progress. */
function describePlacement(p: Placement): string {
  return `${p.engine} on ${p.provider} (${p.device}${p.deviceName !== undefined ? ` ${p.deviceName}` : ''})${p.engine === 'tfjs' ? '' : `, ${p.threads} thread(s)`}`;
}
