import { ErrorCodes, InferenceError } from '../../core/errors.js';
import { ModelUnavailableError, type HostHealth, type ModelHost } from './model-host.js';
import type { ArgOf, ModelApi, ModelService, OpName, OpenModel, ResultOf } from './model-service.js';

/**
 * A model on the caller's own thread. Calls run one at a time, in order, as they do in a worker
 * (TF.js's engine is not re-entrant across awaits of one model).
 */
export class ThreadHost<Info, Api extends ModelApi<Api>> implements ModelHost<Info, Api> {
  private chain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly name: string,
    private readonly model: OpenModel<Info, Api>,
  ) {}

  static async open<Init, Info, Api extends ModelApi<Api>>(service: ModelService<Init, Info, Api>, init: Init): Promise<ThreadHost<Info, Api>> {
    return new ThreadHost(service.name, await service.open(init));
  }

  get info(): Info {
    return this.model.info;
  }

  call<K extends OpName<Api>>(op: K, arg: ArgOf<Api[K]>): Promise<ResultOf<Api[K]>> {
    if (this.closing) return Promise.reject(new ModelUnavailableError(this.name, 'closed'));
    const fn = this.model.api[op] as unknown as (a: ArgOf<Api[K]>) => ResultOf<Api[K]> | Promise<ResultOf<Api[K]>>;
    const run = this.chain.then(async () => {
      try {
        return await fn.call(this.model.api, arg);
      } catch (err) {
        if (err instanceof InferenceError) throw err;
        throw new InferenceError(ErrorCodes.INFERENCE, `${this.name} ${op} failed: ${(err as Error).message}`, { cause: err });
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  tensors(): Promise<number> {
    return Promise.resolve(0);
  }

  health(): HostHealth {
    return { name: this.name, where: 'thread', state: this.closing ? 'closed' : 'ready', restarts: 0 };
  }

  close(): Promise<void> {
    this.closing ??= this.chain.then(() => this.model.close());
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
