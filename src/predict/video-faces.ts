/**
 * Faces of a video file, found by the daemon's own per-stream run (runStream: source → detect →
 * align → track, with a CreditGate as for an as-fast-as-possible file stream), so the live
 * pipeline cuts the same crops.
 * The consumer may be asynchronous (its models run in workers or ONNX Runtime): its calls run one
 * after another in frame order, and the source reads a frame only when fewer than
 * `queueFrames + 1` frames are still with the consumer, so however slow the models are, memory
 * stays bounded to a few frames.
 */
import type { Subscription } from 'rxjs';
import type { Config } from '../config/schema.js';
import { asStreamId } from '../core/ids.js';
import type { AlignedFace, Alignment, FrameRecord, TrackedFace } from '../core/records.js';
import { cropAlignedFacesUint8 } from '../models/face-aligner/index.js';
import type { FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import type { RgbFace } from '../models/seed/index.js';
import { CreditGate } from '../pipeline/credit-gate.js';
import { resolveGate } from '../pipeline/quality/gate.js';
import { runStream, type RunSourceOptions } from '../pipeline/run-stream.js';
import { openSource, type RawFrame, type SourceSpec } from '../streams/open-source.js';

/** With `quality`, each face's `quality.gated` names the thresholds it fails (the consumer decides what to do with it). */
export type VideoAnalysisConfig = Pick<Config, 'analysis' | 'detector' | 'tracker' | 'alignment'> & Partial<Pick<Config, 'quality'>>;

export interface VideoFacesConsumer {
  /**
   * One analysed frame and its tracked faces with their aligned crops (uint8 RGB, HWC), and the
   * second crop (`also`) when one was asked for.
   */
  frame(frame: FrameRecord, faces: readonly { readonly face: TrackedFace; readonly crop: RgbFace; readonly also?: RgbFace }[]): void | Promise<void>;
  /** Tracks that ended (including every live track when the video ends). */
  tracksEnded(trackIds: readonly number[]): void | Promise<void>;
}

/** The real source, reading a frame only once the consumer has room for it. */
function consumerPacedSource(consumer: CreditGate) {
  return (spec: SourceSpec, opts: RunSourceOptions): AsyncGenerator<RawFrame> =>
    (async function* () {
      const onAbort = (): void => consumer.releaseAll();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const frame of openSource(spec, opts)) {
          await consumer.acquire();
          if (opts.signal?.aborted) return;
          yield frame;
        }
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    })();
}

export async function readVideoFaces(
  file: string | SourceSpec,
  detector: Pick<FaceDetectorHost, 'createSession'>,
  cfg: VideoAnalysisConfig,
  consumer: VideoFacesConsumer,
  /** The model's crop of a face (default: the daemon's alignment), as the live stage cuts it. */
  cropOf: (face: AlignedFace) => Alignment = (face) => face.alignment,
  /** A second crop of every face (e.g. a distillation teacher's, cut its own way), from the same frame. */
  alsoCropOf?: (face: AlignedFace) => Alignment,
): Promise<{ readonly frames: number }> {
  const credits = new CreditGate(cfg.analysis.queueFrames + 1);
  const run$ = runStream(
    typeof file === 'string' ? { kind: 'file', path: file } : file,
    {
      streamId: asStreamId('predict'),
      realtime: false,
      loop: false,
      maxWidth: cfg.analysis.maxWidth,
      queueFrames: cfg.analysis.queueFrames,
      alignSize: cfg.alignment.size,
      tracker: cfg.tracker,
      detector: cfg.detector,
      ...(cfg.quality ? { quality: resolveGate(cfg.quality) } : {}),
    },
    { detector, openSource: consumerPacedSource(credits) },
  );
  let frames = 0;
  let sub: Subscription | undefined;
  let failed = false;
  let released: Promise<void> = Promise.resolve();
  // The consumer's calls, chained in frame order.
  let chain: Promise<void> = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      sub?.unsubscribe();
      credits.releaseAll();
      reject(err);
    };
    const then = (work: () => void | Promise<void>, credit: boolean): void => {
      chain = chain
        .then(async () => {
          if (!failed) await work();
        })
        .catch(fail)
        .finally(() => {
          if (credit) credits.release();
        });
    };
    sub = run$.subscribe({
      next: (record) => {
        if (record.kind === 'started') released = record.released;
        if (failed || record.kind !== 'tracked') return;
        const rec = record.record;
        if (rec.kind === 'tracks-closed') {
          const ids = rec.tracks.map((t) => t.trackId);
          then(() => consumer.tracksEnded(ids), false);
          return;
        }
        frames++;
        const image = rec.frame.image;
        // The same crop function as the live affect stage, so both feed the models identical bytes.
        // Cut now: the frame's pixels may be handed on once this callback returns.
        const scale = image.width / rec.frame.sourceWidth;
        const crops: RgbFace[] = cropAlignedFacesUint8(image, rec.faces.map(cropOf), scale);
        const also = alsoCropOf !== undefined ? cropAlignedFacesUint8(image, rec.faces.map(alsoCropOf), scale) : undefined;
        const faces = rec.faces.map((face, i) => {
          const crop = crops[i];
          if (crop === undefined) throw new Error(`unreachable: no crop for face ${i} of frame ${rec.frame.seq}`);
          const second = also?.[i];
          return second !== undefined ? { face, crop, also: second } : { face, crop };
        });
        const ended = rec.tracks.filter((c) => c.state === 'ended').map((c) => c.trackId);
        then(async () => {
          await consumer.frame(rec.frame, faces);
          if (ended.length > 0) await consumer.tracksEnded(ended);
        }, true);
      },
      error: fail,
      complete: () => {
        void chain.then(() => {
          if (!failed) resolve();
        });
      },
    });
    if (failed) sub.unsubscribe();
  }).finally(() => released);
  return { frames };
}
