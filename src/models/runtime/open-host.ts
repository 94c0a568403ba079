import type { ModelHost, HostEvents } from './model-host.js';
import type { ModelApi, ModelService } from './model-service.js';
import { ThreadHost } from './thread-host.js';
import { WorkerHost, type WorkerHostOptions } from './worker-host.js';

export type OpenHostOptions = HostEvents &
  Omit<WorkerHostOptions, 'onState'> & {
    /** A worker thread of its own (its own core), or the caller's thread. */
    readonly worker: boolean;
  };

/** The one place that picks where a model runs. */
export async function openHost<Init, Info, Api extends ModelApi<Api>>(
  service: ModelService<Init, Info, Api>,
  init: Init,
  opts: OpenHostOptions,
): Promise<ModelHost<Info, Api>> {
  return opts.worker ? WorkerHost.start(service, init, opts) : ThreadHost.open(service, init);
}
