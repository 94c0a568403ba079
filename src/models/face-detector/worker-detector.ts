import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, InferenceError, ModelLoadError } from '../../core/errors.js';
import { packageRoot } from '../../paths.js';
import type { BackendPreference } from '../backend.js';
import type { FaceDetectorOptions } from './constants.js';
import type { DetectorWorkerReply, DetectorWorkerRequest } from './detector-worker.js';
import type { DetectionResult } from './index.js';
import type { RgbImage } from './types.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What the pipeline needs of a detector, in-thread or in a worker. */
export interface FaceDetectorHost {
  createSession(options?: Partial<FaceDetectorOptions>): { detect(img: RgbImage): Promise<DetectionResult>; close?(): void };
  close(): void | Promise<void>;
  /** Tensors alive in the worker's own TF.js engine (absent for an in-thread detector). */
  tensors?(): Promise<number>;
}

/** The compiled worker (dist/): tests run the main thread from src/ but the worker from dist/. */
export const DETECTOR_WORKER_SCRIPT = path.join(packageRoot, 'dist', 'models', 'face-detector', 'detector-worker.js');

/**
 * BlazeFace + FaceMesh in a worker thread of their own. Frames are copied to the worker (the
 * pipeline keeps its buffer for the affect crops); results come back in request order.
 */
export class WorkerFaceDetector implements FaceDetectorHost {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private nextSession = 1;
  private exited = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: DetectorWorkerReply) => {
      if (!('id' in msg)) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new InferenceError(ErrorCodes.INFERENCE, `face detection failed: ${msg.message}`));
    });
    const failAll = (why: string): void => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new InferenceError(ErrorCodes.INFERENCE, why));
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(`face detector worker crashed: ${err.message}`));
    worker.on('exit', (code) => failAll(`face detector worker exited (${code})`));
  }

  static async start(backend: BackendPreference): Promise<WorkerFaceDetector> {
    const worker = new Worker(DETECTOR_WORKER_SCRIPT, { workerData: { backend } });
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (msg: DetectorWorkerReply) => {
          if ('op' in msg && msg.op === 'ready') resolve();
          else reject(new Error('op' in msg && msg.op === 'failed' ? msg.message : 'unexpected first message'));
        });
      });
    } catch (err) {
      await worker.terminate();
      throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `face models failed to load in the detector worker: ${(err as Error).message}`, { cause: err });
    }
    return new WorkerFaceDetector(worker);
  }

  private call<R>(req: WithoutId<DetectorWorkerRequest>): Promise<R> {
    if (this.exited) return Promise.reject(new InferenceError(ErrorCodes.INFERENCE, 'the face detector worker is not running'));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  createSession(options: Partial<FaceDetectorOptions> = {}): { detect(img: RgbImage): Promise<DetectionResult>; close(): void } {
    const session = this.nextSession++;
    void this.call({ op: 'open', session, options }).catch(() => undefined);
    return {
      detect: (image) => this.call<DetectionResult>({ op: 'detect', session, image }),
      close: () => void this.call({ op: 'close', session }).catch(() => undefined),
    };
  }

  tensors(): Promise<number> {
    return this.call<number>({ op: 'tensors' });
  }

  async close(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
