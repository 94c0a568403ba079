import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StreamApi } from '../transport/stream-api.js';
import { startControlListener, type ControlListener } from '../transport/sinks/control-listener.js';

/**
 * One control listener per sink with a control topic. They connect in the background: an absent
 * broker must not hold up the start (it is logged, and that sink takes no commands).
 */
export function startControlListeners(
  config: Config,
  supervisor: StreamApi,
  deps: { readonly logger: Logger; readonly metrics: Metrics; readonly signal: AbortSignal; readonly instance: string },
): Promise<ControlListener | undefined>[] {
  const log = deps.logger.child({ component: 'daemon' });
  return config.sinks.map((s) =>
    startControlListener(s, supervisor, { logger: deps.logger, maxBytes: config.server.maxBodyBytes, signal: deps.signal, instance: deps.instance, metrics: deps.metrics }).catch((err: unknown) => {
      log.warn({ sink: s.name, err }, 'stream control through the broker is unavailable');
      return undefined;
    }),
  );
}

export async function closeControlListeners(controls: readonly Promise<ControlListener | undefined>[]): Promise<void> {
  await Promise.all(controls.map(async (c) => (await c)?.close().catch(() => undefined)));
}
