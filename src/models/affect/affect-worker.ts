/**
 * Worker-thread host of a seed ensemble: the affect models run here, on their own core, while
 * the main thread decodes, detects and serves. Messages: load → ready; cnn / gru → result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendPreference } from '../backend.js';
import { tf } from '../tf.js';
import type { RgbFace } from '../seed/index.js';
import type { FrameCache, SeedRunner } from '../seed/seed-runner.js';
import { loadAffectRunner, type AffectRunner } from './affect-runner.js';
import { runWindows } from './run-windows.js';

export interface WorkerInit {
  readonly dir: string;
  readonly backend: BackendPreference;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: 'cnn'; readonly faces: readonly RgbFace[] }
  | { readonly id: number; readonly op: 'gru'; readonly windows: readonly (readonly FrameCache[])[] }
  | { readonly id: number; readonly op: 'tensors' };

export type WorkerReply =
  | { readonly op: 'ready'; readonly manifest: unknown; readonly hidden: number; readonly crop: unknown; readonly cropSize: number | null; readonly backend: string }
  | { readonly op: 'failed'; readonly code: string; readonly message: string }
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('affect-worker must run in a worker thread');
  const init = workerData as WorkerInit;
  let runner: AffectRunner;
  let seed: SeedRunner | undefined;
  let backend: string;
  try {
    backend = (await selectBackend(init.backend)).name;
    ({ runner, seed } = await loadAffectRunner(init.dir, { includeMembers: false }));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    port.postMessage({ op: 'failed', code: e.code ?? 'VA_ERR_MODEL_LOAD', message: e.message ?? String(err) } satisfies WorkerReply);
    return;
  }
  port.on('message', (req: WorkerRequest) => {
    try {
      const gru = (windows: readonly (readonly FrameCache[])[]): unknown => {
        if (!seed) throw new RangeError('this model has no sequence heads');
        return runWindows(seed, windows);
      };
      const result = req.op === 'cnn' ? runner.runCnn(req.faces) : req.op === 'gru' ? gru(req.windows) : tf.memory().numTensors;
      port.postMessage({ id: req.id, ok: true, result } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, message: (err as Error).message } satisfies WorkerReply);
    }
  });
  port.postMessage({ op: 'ready', manifest: runner.manifest, hidden: runner.hidden, crop: runner.crop, cropSize: runner.cropSize, backend } satisfies WorkerReply);
}

void main();
