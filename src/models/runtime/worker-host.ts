import type { ResourceLimits, Worker } from 'node:worker_threads';
import { ErrorCodes, InferenceError, ModelLoadError } from '../../core/errors.js';
import { ModelUnavailableError, type HostEvents, type HostHealth, type HostState, type ModelHost } from './model-host.js';
import type { ArgOf, ModelApi, ModelService, OpName, ResultOf } from './model-service.js';
import { TENSORS_OP, awaitReady, stopWorker, type RpcMessage } from './worker-rpc.js';
import { startWorker } from './worker-url.js';

export interface WorkerHostOptions extends HostEvents {
  /** `import.meta.url` of the module beside the worker script, and the script's name without extension. */
  readonly base: string;
  readonly script: string;
  /** First restart delay after a crash; doubles per consecutive crash up to `restartMaxMs`. */
  readonly restartBaseMs?: number;
  readonly restartMaxMs?: number;
  /** A worker that stayed up this long resets the backoff. */
  readonly stableMs?: number;
  /** How long close() and kill() wait for the worker to end between calls before terminating it. */
  readonly exitTimeoutMs?: number;
  /** The worker's heap limits; one that reaches them dies (ERR_WORKER_OUT_OF_MEMORY) and is restarted with the same. */
  readonly resourceLimits?: ResourceLimits;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * A model in a worker thread of its own. The first start must succeed (a model that cannot load
 * keeps the daemon from starting); after that, a worker that dies is restarted with exponential
 * backoff. Meanwhile calls reject at once with {@link ModelUnavailableError} and `health()` says
 * `restarting`, which is what `/readyz` reports.
 */
export class WorkerHost<Init, Info, Api extends ModelApi<Api>> implements ModelHost<Info, Api> {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private state: HostState = 'ready';
  private restarts = 0;
  private attempt = 0;
  private startedAt = 0;
  private lastError: string | undefined;
  private restartDelayMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private onSend: (() => void) | undefined;

  private constructor(
    private readonly service: ModelService<Init, Info, Api>,
    private readonly init: Init,
    private readonly opts: WorkerHostOptions,
    readonly info: Info,
  ) {}

  static async start<Init, Info, Api extends ModelApi<Api>>(
    service: ModelService<Init, Info, Api>,
    init: Init,
    opts: WorkerHostOptions,
  ): Promise<WorkerHost<Init, Info, Api>> {
    const worker = startWorker(opts.base, opts.script, { workerData: init, name: service.name, ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}) });
    let info: unknown;
    try {
      info = await awaitReady(worker);
    } catch (err) {
      await worker.terminate();
      throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `${service.name} worker failed to load: ${(err as Error).message}`, { cause: err });
    }
    const host = new WorkerHost(service, init, opts, info as Info);
    host.attach(worker);
    return host;
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    this.startedAt = performance.now();
    worker.on('message', (msg: RpcMessage) => {
      if (msg.t !== 'reply') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new InferenceError(ErrorCodes.INFERENCE, `${this.service.name} ${msg.message}`, { context: { workerCode: msg.code } }));
    });
    worker.on('error', (err) => {
      this.lastError = err.message;
    });
    worker.once('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const why = this.lastError ? `worker crashed: ${this.lastError}` : `worker exited (${code})`;
      this.lastError = why;
      this.failPending(why);
      if (this.closing) return;
      this.scheduleRestart();
    });
  }

  private failPending(why: string): void {
    for (const p of this.pending.values()) p.reject(new ModelUnavailableError(this.service.name, why));
    this.pending.clear();
  }

  private setState(state: HostState): void {
    this.state = state;
    this.opts.onState?.(this.health());
  }

  private scheduleRestart(): void {
    if (performance.now() - this.startedAt >= (this.opts.stableMs ?? 30_000)) this.attempt = 0;
    const delay = Math.min(this.opts.restartMaxMs ?? 10_000, (this.opts.restartBaseMs ?? 250) * 2 ** this.attempt);
    this.attempt++;
    this.restartDelayMs = delay;
    this.setState('restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.closing) return;
    const worker = startWorker(this.opts.base, this.opts.script, { workerData: this.init, name: this.service.name, ...(this.opts.resourceLimits ? { resourceLimits: this.opts.resourceLimits } : {}) });
    try {
      await awaitReady(worker);
    } catch (err) {
      await worker.terminate();
      this.lastError = `restart failed: ${(err as Error).message}`;
      if (!this.closing) this.scheduleRestart();
      return;
    }
    if (this.closing) {
      await worker.terminate();
      return;
    }
    this.restarts++;
    this.lastError = undefined;
    this.attach(worker);
    this.setState('ready');
  }

  call<K extends OpName<Api>>(op: K, arg: ArgOf<Api[K]>): Promise<ResultOf<Api[K]>> {
    return this.send(op, arg) as Promise<ResultOf<Api[K]>>;
  }

  private send(op: string, arg: unknown): Promise<unknown> {
    const worker = this.worker;
    if (this.closing || !worker) return Promise.reject(new ModelUnavailableError(this.service.name, this.closing ? 'closed' : (this.lastError ?? 'not running')));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ t: 'call', id, op, arg });
      this.onSend?.();
      this.onSend = undefined;
    });
  }

  tensors(): Promise<number> {
    return this.send(TENSORS_OP, null) as Promise<number>;
  }

  health(): HostHealth {
    return {
      name: this.service.name,
      where: 'worker',
      state: this.closing ? 'closed' : this.state,
      restarts: this.restarts,
      ...(this.lastError !== undefined && this.state !== 'ready' ? { lastError: this.lastError } : {}),
      ...(this.state === 'restarting' && !this.closing ? { restartDelayMs: this.restartDelayMs } : {}),
    };
  }

  /** Ends the worker thread the way a crash would (not a close): the host restarts it. For drills and tests. */
  async kill(): Promise<void> {
    if (this.worker) await stopWorker(this.worker, { close: false, timeoutMs: this.opts.exitTimeoutMs ?? 5_000 });
  }

  /**
   * Ends the thread at once, inside a call if one runs (`Worker.terminate()`): a real death, for
   * drills. Calls in flight fail with {@link ModelUnavailableError} and the host restarts the
   * worker. Only for a worker on TF.js: inside ONNX Runtime's synchronous native `run` it aborts
   * the whole process (see stopWorker), which nothing in the process can recover from. With
   * `midCall`, waits for a call to be in flight first.
   */
  async terminate(opts: { readonly midCall?: boolean } = {}): Promise<void> {
    if (opts.midCall === true && this.pending.size === 0) await new Promise<void>((resolve) => (this.onSend = resolve));
    if (this.worker) await this.worker.terminate();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.restartTimer);
      const worker = this.worker;
      this.worker = undefined;
      this.failPending('closed');
      this.setState('closed');
      if (worker) await stopWorker(worker, { close: true, timeoutMs: this.opts.exitTimeoutMs ?? 5_000 });
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
