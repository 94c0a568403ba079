import { filter, type OperatorFunction } from 'rxjs';
import type { FacesRecord, FaceObservation, FrameRecord } from '../core/records.js';
import type { FaceDetectorSession } from '../models/face-detector/index.js';
import { ModelUnavailableError } from '../models/runtime/model-host.js';
import { boundedConcatMap } from './bounded-concat-map.js';
import type { CreditGate } from './credit-gate.js';
import type { RecordSink } from './stream-record.js';

export interface DetectFacesDeps {
  readonly session: Pick<FaceDetectorSession, 'detect'>;
  /** `analysed` for every frame detected, `dropped` (stage `detect`) for every frame given up. */
  readonly report?: RecordSink<'analysed' | 'dropped'>;
  readonly gate?: CreditGate;
}

export interface DetectFacesOptions {
  /** Frames allowed to wait for the detector. */
  readonly queueFrames: number;
}

/**
 * Face detection in source-frame pixels, one frame at a time, with a drop-oldest queue. While the
 * face models are unavailable (their worker crashed and is restarting) frames are dropped and
 * counted instead of failing the stream, which recovers when the models are back.
 */
export function detectFaces(deps: DetectFacesDeps, opts: DetectFacesOptions): OperatorFunction<FrameRecord, FacesRecord> {
  const { report } = deps;
  const drop = (): void => report?.({ kind: 'dropped', stage: 'detect', count: 1 });
  const detected = boundedConcatMap(
    async (frame: FrameRecord): Promise<FacesRecord | null> => {
      const t0 = performance.now();
      let result;
      try {
        result = await deps.session.detect(frame.image);
      } catch (err) {
        if (!(err instanceof ModelUnavailableError)) throw err;
        drop();
        return null;
      }
      const sx = frame.sourceWidth / frame.image.width;
      const sy = frame.sourceHeight / frame.image.height;
      const faces: FaceObservation[] = result.faces.map((f) => ({
        box: [f.box[0] * sx, f.box[1] * sy, f.box[2] * sx, f.box[3] * sy],
        score: f.score,
        landmarks: f.landmarks.map(([x, y]) => [x * sx, y * sy] as const) as unknown as FaceObservation['landmarks'],
        ...(f.mesh ? { mesh: f.mesh } : {}),
      }));
      const record: FacesRecord = { kind: 'faces', frame, faces, detectMs: performance.now() - t0 };
      report?.({ kind: 'analysed', frameSeq: frame.seq, faces: faces.length, detectMs: record.detectMs });
      return record;
    },
    {
      capacity: opts.queueFrames,
      onDrop: drop,
      ...(deps.gate ? { gate: deps.gate } : {}),
    },
  );
  return (source) => source.pipe(detected, filter((r): r is FacesRecord => r !== null));
}
