/**
 * Faces of a video file, found with the daemon's own stages composed exactly as
 * `buildPipeline` composes them (fromSource → detectFaces → alignFaces → trackFaces, with a
 * CreditGate as for an as-fast-as-possible file stream), so the live pipeline cuts the same crops.
 * The consumer callback runs synchronously inside the pipeline: until it returns, the detector's
 * credit is not given back and no further frame is read, which bounds memory to a few frames.
 */
import type { Subscription } from 'rxjs';
import type { Config } from '../config/schema.js';
import { asStreamId } from '../core/ids.js';
import type { AlignedFace, Alignment, FrameRecord, TrackedFace } from '../core/records.js';
import { cropAlignedFacesUint8 } from '../models/face-aligner/index.js';
import type { FaceDetector } from '../models/face-detector/index.js';
import type { RgbFace } from '../models/seed/index.js';
import { alignFaces } from '../pipeline/align-faces.js';
import { CreditGate } from '../pipeline/credit-gate.js';
import { detectFaces } from '../pipeline/detect-faces.js';
import { fromSource } from '../pipeline/from-source.js';
import { trackFaces } from '../pipeline/track-faces.js';
import { openSource, type SourceSpec } from '../streams/open-source.js';

export type VideoAnalysisConfig = Pick<Config, 'analysis' | 'detector' | 'tracker' | 'alignment'>;

export interface VideoFacesConsumer {
  /** One analysed frame and its tracked faces with their aligned crops (uint8 RGB, HWC). */
  frame(frame: FrameRecord, faces: readonly { readonly face: TrackedFace; readonly crop: RgbFace }[]): void;
  /** Tracks that ended (including every live track when the video ends). */
  tracksEnded(trackIds: readonly number[]): void;
}

export async function readVideoFaces(
  file: string | SourceSpec,
  detector: FaceDetector,
  cfg: VideoAnalysisConfig,
  consumer: VideoFacesConsumer,
  /** The model's crop of a face (default: the daemon's alignment), as the live stage cuts it. */
  cropOf: (face: AlignedFace) => Alignment = (face) => face.alignment,
): Promise<{ readonly frames: number }> {
  const gate = new CreditGate(cfg.analysis.queueFrames + 1);
  const frames$ = fromSource((signal) => openSource(typeof file === 'string' ? { kind: 'file', path: file } : file, { realtime: false, loop: false, maxWidth: cfg.analysis.maxWidth, signal }), {
    streamId: asStreamId('predict'),
    gate,
  });
  const session = detector.createSession(cfg.detector);
  const tracked$ = frames$.pipe(
    detectFaces({ session, gate }, { queueFrames: cfg.analysis.queueFrames }),
    alignFaces({ size: cfg.alignment.size }),
    trackFaces(cfg.tracker),
  );
  let frames = 0;
  let sub: Subscription | undefined;
  let failed = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => {
      failed = true;
      sub?.unsubscribe();
      reject(err);
    };
    sub = tracked$.subscribe({
      next: (rec) => {
        if (failed) return;
        try {
          if (rec.kind === 'tracks-closed') {
            consumer.tracksEnded(rec.tracks.map((t) => t.trackId));
            return;
          }
          frames++;
          const image = rec.frame.image;
          // The same crop function as the live affect stage, so both feed the models identical bytes.
          const crops: RgbFace[] = cropAlignedFacesUint8(image, rec.faces.map(cropOf), image.width / rec.frame.sourceWidth);
          consumer.frame(
            rec.frame,
            rec.faces.map((face, i) => {
              const crop = crops[i];
              if (crop === undefined) throw new Error(`unreachable: no crop for face ${i} of frame ${rec.frame.seq}`);
              return { face, crop };
            }),
          );
          const ended = rec.tracks.filter((c) => c.state === 'ended').map((c) => c.trackId);
          if (ended.length > 0) consumer.tracksEnded(ended);
        } catch (err) {
          fail(err);
        }
      },
      error: fail,
      complete: () => resolve(),
    });
    if (failed) sub.unsubscribe();
  });
  return { frames };
}
