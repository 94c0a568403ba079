import { selectBackend, type BackendPreference } from '../backend.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import { decidePlacement, loaderEngine, placementAsLoaded } from '../placement/decide-placement.js';
import { probeHost } from '../placement/probe-host.js';
import { sessionProviders, type DevicePreference, type HostCapabilities, type Placement } from '../placement/placement.js';
import type { HostHealth, ModelHost } from '../runtime/model-host.js';
import { openHost } from '../runtime/open-host.js';
import { WorkerHost } from '../runtime/worker-host.js';
import type { FaceDetectorOptions } from './constants.js';
import { detectorService, type DetectorApi, type DetectorInfo } from './detector-service.js';
import type { DetectionResult, FaceEngines } from './index.js';
import type { RgbImage } from './types.js';

export interface DetectorSessionHandle {
  detect(img: RgbImage): Promise<DetectionResult>;
  /** Frees the session's tracking state where it holds any (worker-side sessions do). */
  close?(): void;
}

/** What the pipeline needs of the face models, wherever they run. */
export interface FaceDetectorHost {
  createSession(options?: Partial<FaceDetectorOptions>): DetectorSessionHandle;
  close(): Promise<void>;
  tensors(): Promise<number>;
  health(): HostHealth;
  /** Ends a worker-hosted detector's thread as a crash would (drills, tests); no-op in-thread. */
  killWorker(): Promise<void>;
}

/**
 * BlazeFace + FaceMesh behind a model host, in the daemon's thread or a worker of their own.
 * In a worker, frames are copied there (the pipeline keeps its buffer for the affect crops);
 * results come back in request order.
 */
export class HostedFaceDetector implements FaceDetectorHost, AsyncDisposable {
  private nextSession = 1;

  private constructor(
    private readonly host: ModelHost<DetectorInfo, DetectorApi>,
    /** Where BlazeFace and FaceMesh run, decided once and as loaded. */
    readonly placement: Placement,
  ) {}

  static async open(opts: {
    readonly worker: boolean;
    readonly backend: BackendPreference;
    /** BlazeFace's and FaceMesh's engine (default auto: ONNX Runtime where it loads). */
    readonly engine?: EnginePreference;
    readonly threads?: number;
    /** Where they run (default auto), decided on `capabilities` (default: probed on this thread). */
    readonly device?: DevicePreference;
    readonly capabilities?: HostCapabilities;
    readonly onHostState?: (h: HostHealth) => void;
  }): Promise<HostedFaceDetector> {
    const req = { model: 'face models', engine: opts.engine ?? 'auto', device: opts.device ?? 'auto', threads: opts.threads ?? 1 };
    const caps = opts.capabilities ?? (await probeHost(await selectBackend(opts.backend)));
    const decided = decidePlacement(req, caps);
    const init = { backend: opts.backend, engine: loaderEngine(req, decided), threads: req.threads, providers: sessionProviders(decided) };
    const host = await openHost(detectorService, init, {
      worker: opts.worker,
      base: import.meta.url,
      script: './detector-worker',
      ...(opts.onHostState ? { onState: opts.onHostState } : {}),
    });
    const engines = host.info;
    const engine = engines.detector === engines.mesh ? engines.detector : 'hybrid';
    return new HostedFaceDetector(host, placementAsLoaded(decided, { engine, backend: host.info.backend }));
  }

  /** The engine each face model runs on. */
  get engines(): FaceEngines {
    return { detector: this.host.info.detector, mesh: this.host.info.mesh };
  }

  /** The TF.js backend the face models' thread initialised (`wasm` when the networks run on ONNX Runtime). */
  get backend(): string {
    return this.host.info.backend;
  }

  createSession(options: Partial<FaceDetectorOptions> = {}): DetectorSessionHandle {
    const session = this.nextSession++;
    return {
      detect: (image) => this.host.call('detect', { session, options, image }),
      close: () => void this.host.call('closeSession', session).catch(() => undefined),
    };
  }

  tensors(): Promise<number> {
    return this.host.tensors();
  }

  health(): HostHealth {
    return this.host.health();
  }

  /** Ends a worker-hosted detector's thread as a crash would; the host restarts it (drills, tests). */
  async killWorker(): Promise<void> {
    if (this.host instanceof WorkerHost) await this.host.kill();
  }

  close(): Promise<void> {
    return this.host.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
