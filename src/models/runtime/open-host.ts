import { HostPool } from './host-pool.js';
import type { HostEvents, ModelHost } from './model-host.js';
import type { ModelApi, ModelService } from './model-service.js';
import { ThreadHost } from './thread-host.js';
import { WorkerHost, type WorkerHostOptions } from './worker-host.js';

export type OpenHostOptions = HostEvents &
  Omit<WorkerHostOptions, 'onState'> & {
    /** Worker threads of its own (their own cores), or the caller's thread. */
    readonly worker: boolean;
    /** With `worker`: how many workers share the calls (default 1). */
    readonly workers?: number;
  };

/** The one place that picks where a model runs. */
export async function openHost<Init, Info, Api extends ModelApi<Api>>(
  service: ModelService<Init, Info, Api>,
  init: Init,
  opts: OpenHostOptions,
): Promise<ModelHost<Info, Api>> {
  if (!opts.worker) return ThreadHost.open(service, init);
  const n = opts.workers ?? 1;
  if (n <= 1) return WorkerHost.start(service, init, opts);
  let pool: HostPool<Info, Api> | undefined;
  const onState = (): void => {
    if (pool) opts.onState?.(pool.health());
  };
  const settled = await Promise.allSettled(Array.from({ length: n }, () => WorkerHost.start(service, init, { ...opts, onState })));
  const hosts = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(hosts.map((h) => h.close()));
    throw failed.reason;
  }
  pool = new HostPool(hosts, service.name);
  return pool;
}

