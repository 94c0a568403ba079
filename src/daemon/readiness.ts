import type { ClusterCoordinator } from '../cluster/coordinator.js';
import type { Config } from '../config/schema.js';
import type { Readiness } from '../transport/http-server.js';
import type { EventSink } from '../transport/sinks/event-sink.js';
import type { DaemonModels } from './load-models.js';

/** What readiness looks at, each read at the moment /readyz is asked. */
export interface ReadinessView {
  readonly models: () => DaemonModels | undefined;
  readonly listening: () => boolean;
  readonly closing: () => boolean;
  readonly streamCount: () => number;
  readonly cluster: () => ClusterCoordinator | undefined;
  readonly sinks: () => readonly EventSink[];
}

/**
 * /readyz: ready while the face models are loaded and every model host is up (a crashed worker
 * being restarted is not), the server is listening, the daemon is not shutting down and, in a
 * cluster, the lease store answers. The details say what runs.
 */
export function daemonReadiness(model: Config['model'], view: ReadinessView): Readiness {
  return {
    ready: () => {
      const models = view.models();
      const cluster = view.cluster();
      const status = cluster?.status();
      const hosts = [models?.detector.health(), models?.affectModel?.health()].filter((h) => h !== undefined);
      const closing = view.closing();
      const checks = {
        models: models !== undefined && hosts.every((h) => h.state === 'ready'),
        server: view.listening(),
        shuttingDown: closing,
        ...(status ? { cluster: status.healthy } : {}),
      };
      const engine = models?.affectModel;
      const sinks = view.sinks();
      return {
        ready: checks.models && checks.server && !closing && (status?.healthy ?? true),
        checks,
        details: {
          backend: models?.backend ?? 'none',
          modelHosts: hosts,
          // Per model: engine, execution provider, device and why (decided once at load).
          placements: models?.placements ?? {},
          affectModel: engine
            ? { id: engine.id, version: engine.version, kind: engine.kind, seqLen: engine.seqLen, stride: model.stride, smoothing: model.smoothing, runtime: engine.runtime, workers: engine.workers }
            : 'none loaded (faces only; start with --model DIR for affect events)',
          streams: view.streamCount(),
          ...(status ? { cluster: { instance: status.instance, members: status.members.map((m) => m.id), owned: cluster?.ownedCount() ?? 0 } } : {}),
          ...(sinks.length > 0 ? { sinks: sinks.map((s) => s.status()) } : {}),
        },
      };
    },
  };
}
