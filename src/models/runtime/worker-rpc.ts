/**
 * The one request/response protocol between a model host and its worker thread. The worker
 * opens a {@link ModelService} and announces `ready` (or `failed`); calls then run one at a time
 * in arrival order and each gets exactly one reply.
 */
import { parentPort, workerData, type Worker } from 'node:worker_threads';
import { tensorCount } from '../backend.js';
import type { ModelApi, ModelService } from './model-service.js';

export type RpcCall = { readonly t: 'call'; readonly id: number; readonly op: string; readonly arg: unknown };
/** Ends the worker after the call it is running: with `close`, the service is closed first (a close); without, not (a drill's crash). */
export type RpcExit = { readonly t: 'exit'; readonly close: boolean; readonly code: number };

export type RpcMessage =
  | { readonly t: 'ready'; readonly info: unknown }
  | { readonly t: 'failed'; readonly code: string; readonly message: string }
  | { readonly t: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

/** Built into every worker: tensors alive in that thread's TF.js engine. */
export const TENSORS_OP = '__tensors';

function describe(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : '', message: typeof e?.message === 'string' ? e.message : String(err) };
}

/** Worker side: call at the top level of a worker script. `workerData` is the service's init. */
export function serveRpc<Init, Info, Api extends ModelApi<Api>>(service: ModelService<Init, Info, Api>): void {
  const port = parentPort;
  if (!port) throw new Error(`the ${service.name} worker script must run in a worker thread`);
  void (async () => {
    let api: Api;
    let opened: Awaited<ReturnType<typeof service.open>>;
    try {
      opened = await service.open(workerData as Init);
      api = opened.api;
      port.postMessage({ t: 'ready', info: opened.info } satisfies RpcMessage);
    } catch (err) {
      port.postMessage({ t: 'failed', ...describe(err) } satisfies RpcMessage);
      return;
    }
    let chain: Promise<void> = Promise.resolve();
    port.on('message', (msg: RpcCall | RpcExit) => {
      if (msg.t === 'exit') {
        chain = chain.then(async () => {
          if (msg.close) await Promise.resolve(opened.close()).catch(() => undefined);
          process.exit(msg.code);
        });
        return;
      }
      chain = chain.then(async () => {
        try {
          const fn = (api as Record<string, unknown>)[msg.op];
          let result: unknown;
          if (msg.op === TENSORS_OP) result = tensorCount();
          else if (typeof fn === 'function' && Object.hasOwn(api, msg.op)) result = await (fn as (a: unknown) => unknown).call(api, msg.arg);
          else throw new Error(`unknown operation ${msg.op}`);
          port.postMessage({ t: 'reply', id: msg.id, ok: true, result } satisfies RpcMessage);
        } catch (err) {
          port.postMessage({ t: 'reply', id: msg.id, ok: false, ...describe(err) } satisfies RpcMessage);
        }
      });
    });
  })();
}

/** Main side: waits for `ready`; rejects with the worker's own words if it failed to open. */
export function awaitReady(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: RpcMessage): void => {
      cleanup();
      if (msg.t === 'ready') resolve(msg.info);
      else if (msg.t === 'failed') reject(Object.assign(new Error(msg.message), { code: msg.code }));
      else reject(new Error('the worker replied before it was ready'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`the worker exited (${code}) before it was ready`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Ends a worker between calls, never inside one: `Worker.terminate()` during a synchronous native
 * call (an ONNX Runtime `run`) aborts the whole process (measured: "terminate called after throwing
 * an instance of 'Napi::Error'"). The worker finishes its current call, closes its service when
 * `close` is set, and exits; one that does not within `timeoutMs` (stuck, or still loading) is
 * terminated.
 */
export async function stopWorker(worker: Worker, opts: { readonly close: boolean; readonly timeoutMs: number }): Promise<void> {
  if (worker.threadId === -1) return;
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<boolean>((resolve) => {
    worker.once('exit', () => resolve(true));
    timer = setTimeout(() => resolve(false), opts.timeoutMs);
  });
  try {
    worker.postMessage({ t: 'exit', close: opts.close, code: opts.close ? 0 : 1 } satisfies RpcExit);
  } catch {
    // the port is already closed: the worker is on its way out
  }
  const clean = await exited;
  clearTimeout(timer);
  if (!clean) await worker.terminate();
}
