import { selectBackend, type BackendPreference } from '../backend.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import type { ModelService } from '../runtime/model-service.js';
import type { FaceDetectorOptions } from './constants.js';
import { FaceDetector, type DetectionResult, type FaceDetectorSession, type FaceEngines } from './index.js';
import type { RgbImage } from './types.js';

export interface DetectorInit {
  /** TF.js backend: preprocessing always runs on TF.js, the networks too under engine `tfjs`. */
  readonly backend: BackendPreference;
  readonly engine?: EnginePreference;
  /** Intra-op threads of each ONNX Runtime session. */
  readonly threads?: number;
  /** ONNX Runtime execution providers, from the placement. */
  readonly providers?: readonly string[];
}

export interface DetectRequest {
  readonly session: number;
  /** Sent with every frame so a restarted worker rebuilds the session without a handshake. */
  readonly options: Partial<FaceDetectorOptions>;
  readonly image: RgbImage;
}

export type DetectorApi = {
  detect(req: DetectRequest): Promise<DetectionResult>;
  closeSession(session: number): void;
};

/** The face models' engines, and the TF.js backend this thread initialised. */
export interface DetectorInfo extends FaceEngines {
  readonly backend: string;
}

/**
 * With the networks on ONNX Runtime, TF.js only prepares frames here: the pure-JS/WASM backend
 * does, and this thread never initialises libtensorflow (tfjs-node fails from the second worker
 * thread on, tensorflow/tfjs#8388; docs/engines.md lists which thread loads what).
 */
export function preprocessingBackend(init: Pick<DetectorInit, 'backend' | 'engine'>): BackendPreference {
  return init.engine === 'tfjs' ? init.backend : 'wasm';
}

/** BlazeFace + FaceMesh as a hostable service: one detector, one session per stream. */
export const detectorService: ModelService<DetectorInit, DetectorInfo, DetectorApi> = {
  name: 'face-detector',
  async open(init) {
    const backend = (await selectBackend(preprocessingBackend(init))).name;
    const detector = await FaceDetector.load({ engine: init.engine ?? 'auto', threads: init.threads ?? 1, ...(init.providers !== undefined ? { providers: init.providers } : {}) });
    try {
      await detector.warmUp();
    } catch (err) {
      detector.close();
      throw err;
    }
    const sessions = new Map<number, FaceDetectorSession>();
    return {
      info: { ...detector.engines, backend },
      api: {
        detect: ({ session, options, image }) => {
          let s = sessions.get(session);
          if (!s) sessions.set(session, (s = detector.createSession(options)));
          return s.detect(image);
        },
        closeSession: (session) => void sessions.delete(session),
      },
      close: () => detector.close(),
    };
  },
};
