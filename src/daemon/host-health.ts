import type { HostHealth } from '../models/runtime/model-host.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** A model host's state changes as metrics (va_model_host_up, va_model_host_restarts_total) and logs. */
export function reportHostState(metrics: Metrics, log: Logger): (h: HostHealth) => void {
  return (h) => {
    metrics.modelHostUp.set({ host: h.name }, h.state === 'ready' ? 1 : 0);
    // The worker's error crossed a thread as text: its message is all there is to log.
    if (h.state === 'restarting') log.error({ host: h.name, where: h.where, err: { message: h.lastError ?? 'unknown' } }, 'model worker died; restarting it with backoff');
    if (h.state === 'ready' && h.restarts > 0) {
      metrics.modelHostRestarts.inc({ host: h.name });
      log.warn({ host: h.name, restarts: h.restarts }, 'model worker restarted');
    }
  };
}
