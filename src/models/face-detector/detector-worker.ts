/**
 * Worker-thread host of the face models: detection runs on its own core while the daemon's
 * thread decodes and publishes. One FaceDetectorSession per stream session id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendPreference } from '../backend.js';
import { tf } from '../tf.js';
import { FaceDetector, type FaceDetectorSession } from './index.js';
import type { FaceDetectorOptions } from './constants.js';
import type { RgbImage } from './types.js';

export type DetectorWorkerRequest =
  | { readonly id: number; readonly op: 'open'; readonly session: number; readonly options: Partial<FaceDetectorOptions> }
  | { readonly id: number; readonly op: 'detect'; readonly session: number; readonly image: RgbImage }
  | { readonly id: number; readonly op: 'close'; readonly session: number }
  | { readonly id: number; readonly op: 'tensors' };

export type DetectorWorkerReply =
  | { readonly op: 'ready' }
  | { readonly op: 'failed'; readonly message: string }
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('detector-worker must run in a worker thread');
  let detector: FaceDetector;
  try {
    await selectBackend((workerData as { backend: BackendPreference }).backend);
    detector = await FaceDetector.load();
    await detector.warmUp();
  } catch (err) {
    port.postMessage({ op: 'failed', message: (err as Error).message } satisfies DetectorWorkerReply);
    return;
  }
  const sessions = new Map<number, FaceDetectorSession>();
  // Requests of one session arrive in order and are answered in order; detect() is async, so
  // chain per worker to keep TF.js calls strictly sequential.
  let chain = Promise.resolve();
  port.on('message', (req: DetectorWorkerRequest) => {
    chain = chain.then(async () => {
      try {
        let result: unknown = null;
        if (req.op === 'open') sessions.set(req.session, detector.createSession(req.options));
        else if (req.op === 'close') sessions.delete(req.session);
        else if (req.op === 'tensors') result = tf.memory().numTensors;
        else {
          const s = sessions.get(req.session);
          if (!s) throw new Error(`no detector session ${req.session}`);
          result = await s.detect(req.image);
        }
        port.postMessage({ id: req.id, ok: true, result } satisfies DetectorWorkerReply);
      } catch (err) {
        port.postMessage({ id: req.id, ok: false, message: (err as Error).message } satisfies DetectorWorkerReply);
      }
    });
  });
  port.postMessage({ op: 'ready' } satisfies DetectorWorkerReply);
}

void main();
