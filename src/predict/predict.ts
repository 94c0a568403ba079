/**
 * `daemon predict` (the seed's `run_pretrained_model.py` as a command): a model directory and a
 * directory of aligned face images (one sequence) or a video file (one sequence per track) →
 * one row per frame (and track) in JSON Lines or CSV.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AnalyticsError, ErrorCodes, InferenceError, SourceError } from '../core/errors.js';
import { selectBackend, type BackendPreference } from '../models/backend.js';
import { FaceDetector } from '../models/face-detector/index.js';
import { faceCropAlignment } from '../models/packaged/face-crop.js';
import { loadAffectRunner, providesAuVa } from '../models/affect/affect-runner.js';
import { listImages, readImage } from './image-dir.js';
import { PredictSink } from './predict-sink.js';
import { RowWriter, rowFormatOf } from './row-writer.js';
import { readVideoFaces } from './video-faces.js';

export interface PredictOptions {
  readonly model: string;
  readonly input: string;
  readonly out: string;
  /** Add per-member outputs to every row. */
  readonly members?: boolean;
  readonly backend?: BackendPreference;
  /** Faces per CNN batch, and windows per GRU batch (default 8). */
  readonly batch?: number;
  /** Daemon config file whose analysis/detector/tracker/alignment settings a video uses. */
  readonly config?: string;
  /** Progress lines (the CLI sends them to stderr). */
  readonly progress?: (line: string) => void;
}

export interface PredictSummary {
  readonly input: 'images' | 'video';
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly backend: string;
  /** Images read, or video frames analysed. */
  readonly frames: number;
  readonly faces: number;
  readonly rows: number;
  readonly seconds: number;
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
  rowFormatOf(o.out);
  const input = await inputKind(o.input);
  const progress = o.progress ?? (() => undefined);
  // A video uses the daemon's own analysis settings (defaults, or --config), never the environment.
  const cfg: Config = loadConfig({ ...(o.config !== undefined ? { file: o.config } : {}), env: {} });
  const backend = await selectBackend(o.backend ?? 'auto');
  progress(`backend ${backend.name}`);
  const { runner } = await loadAffectRunner(o.model, { includeMembers: o.members === true });
  let detector: FaceDetector | undefined;
  let writer: RowWriter | undefined;
  try {
    const m = runner.manifest;
    const auVa = providesAuVa(m);
    progress(`model ${m.id} ${m.version}: ${m.architecture} ${m.kind}${auVa && m.seqLen !== undefined ? ` seq_len ${m.seqLen}` : ''}, ${runner.memberInfo.length} member(s)${auVa ? '' : ', expressions only'}`);
    writer = RowWriter.open(o.out, { video: input === 'video', members: o.members === true ? runner.memberInfo.map((x) => x.name) : [], auVa });
    const sink = new PredictSink(runner, writer, batch);
    let frames = 0;
    if (input === 'images') {
      const names = await listImages(o.input);
      progress(`${names.length} image(s) in ${o.input}`);
      for (const [i, name] of names.entries()) {
        sink.add(0, { frame: i, source: name }, await readImage(path.join(o.input, name)));
        frames++;
        if (frames % 200 === 0) progress(`${frames}/${names.length} images`);
      }
      sink.finish();
    } else {
      detector = await FaceDetector.load();
      const source = path.basename(o.input);
      let tracks = 0;
      const seen = new Set<number>();
      const r = await readVideoFaces(o.input, detector, cfg, {
        frame: (frame, faces) => {
          for (const { face, crop } of faces) {
            if (!seen.has(face.trackId)) {
              seen.add(face.trackId);
              tracks++;
            }
            sink.add(face.trackId, { frame: frame.seq, source, trackId: face.trackId, pts: frame.pts }, crop);
          }
          if ((frame.seq + 1) % 100 === 0) progress(`frame ${frame.seq + 1}: ${sink.faces} face(s), ${tracks} track(s)`);
        },
        tracksEnded: (ids) => ids.forEach((id) => sink.endSequence(id)),
      }, (face) => faceCropAlignment(face, runner.crop, runner.cropSize ?? face.alignment.size));
      sink.finish();
      frames = r.frames;
      progress(`${frames} frame(s), ${sink.faces} face(s), ${tracks} track(s)`);
      if (sink.faces === 0) throw new InferenceError(ErrorCodes.INFERENCE, `${o.input}: no faces found in ${frames} frame(s)`);
    }
    writer.close();
    progress(`${writer.rows} row(s) → ${o.out}`);
    return { input, kind: runner.kind, backend: backend.name, frames, faces: sink.faces, rows: writer.rows, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    detector?.close();
    runner.dispose();
  }
}
