import type { AddressInfo } from 'node:net';
import { Subject } from 'rxjs';
import type { Registry } from 'prom-client';
import type { Config } from './config/schema.js';
import { ErrorCodes, ModelLoadError } from './core/errors.js';
import type { AnalyticsEvent } from './core/records.js';
import { AffectEngine } from './models/affect/affect-engine.js';
import { selectBackend, tensorCount } from './models/backend.js';
import { HostedFaceDetector, type FaceDetectorHost } from './models/face-detector/face-detector-host.js';
import type { HostHealth } from './models/runtime/model-host.js';

import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { routeFfmpegLogs } from './streams/open-source.js';
import { StreamStore } from './supervisor/stream-store.js';
import { StreamSupervisor } from './supervisor/stream-supervisor.js';
import { HttpServer } from './transport/http-server.js';
import { WsPublisher } from './transport/ws-publisher.js';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export interface Daemon {
  readonly metrics: Metrics;
  readonly events: Subject<AnalyticsEvent>;
  supervisor(): StreamSupervisor;
  /** The loaded model hosts (for drills and tests: health, killWorker). */
  models(): { readonly detector?: FaceDetectorHost; readonly engine?: AffectEngine };
  start(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** The composition root: everything the daemon runs is built and torn down here. */
export function buildDaemon(config: Config, deps: { readonly logger: Logger; readonly registry?: Registry }): Daemon {
  const log = deps.logger.child({ component: 'daemon' });
  let detector: FaceDetectorHost | undefined;
  let engine: AffectEngine | undefined;
  const metrics = createMetrics(deps.registry, {
    tensorCount: async () => tensorCount() + ((await detector?.tensors().catch(() => 0)) ?? 0) + ((await engine?.tensors().catch(() => 0)) ?? 0),
  });
  const events = new Subject<AnalyticsEvent>();
  let supervisor: StreamSupervisor | undefined;
  let publisher: WsPublisher | undefined;
  let http: HttpServer | undefined;
  let backend = 'none';
  const hostState = (h: HostHealth): void => {
    metrics.modelHostUp.set({ host: h.name }, h.state === 'ready' ? 1 : 0);
    if (h.state === 'restarting') log.error({ host: h.name, where: h.where, error: h.lastError }, 'model worker died; restarting it with backoff');
    if (h.state === 'ready' && h.restarts > 0) {
      metrics.modelHostRestarts.inc({ host: h.name });
      log.warn({ host: h.name, restarts: h.restarts }, 'model worker restarted');
    }
  };
  let closing = false;
  let closed: Promise<void> | undefined;

  return {
    metrics,
    events,
    supervisor() {
      if (!supervisor) throw new Error('daemon not started');
      return supervisor;
    },
    models() {
      return { ...(detector ? { detector } : {}), ...(engine ? { engine } : {}) };
    },

    async start() {
      routeFfmpegLogs(deps.logger);
      const info = await selectBackend(config.backend);
      backend = info.name;
      metrics.backendInfo.set({ backend }, 1);
      for (const t of info.tried) log.warn({ backend: t.name, reason: t.error }, 'TF.js backend unavailable, trying the next');
      log.info({ backend }, 'TF.js backend selected');
      try {
        detector = await HostedFaceDetector.open({ worker: config.detector.worker, backend: config.backend, onHostState: hostState });
        metrics.modelHostUp.set({ host: 'face-detector' }, 1);
      } catch (err) {
        if (err instanceof ModelLoadError) throw err;
        throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `face models failed to load: ${(err as Error).message}`, { cause: err });
      }
      log.info({ worker: config.detector.worker }, 'face models loaded (BlazeFace + FaceMesh from @vladmandic/human)');
      if (config.model.dir !== null) {
        engine = await AffectEngine.load(config.model.dir, { ...config.model, backend: config.backend }, {
          onBatch: (stage, size, seconds) => {
            const l = { model: engine?.id ?? '', backend, stage };
            metrics.inferenceBatchSize.observe(l, size);
            metrics.inferenceDuration.observe(l, seconds);
          },
          onQueueDepth: (stage, depth) => metrics.inferenceQueueDepth.set({ stage }, depth),
          onHostState: hostState,
        });
        metrics.modelHostUp.set({ host: 'affect' }, 1);
        await engine.warmUp();
        const p = engine.manifest.provenance;
        log.info(
          { model: engine.id, modelVersion: engine.version, kind: engine.kind, seqLen: engine.seqLen, members: engine.manifest.members.length, worker: config.model.worker, workers: engine.workers, runtime: engine.runtime, provenance: p },
          'affect model loaded',
        );
        const fallback = engine.runtime.fallback;
        if (fallback !== undefined) log.warn({ engine: engine.runtime.engine, reason: fallback }, 'ONNX Runtime unavailable for the affect model: running it on TF.js');
      } else {
        log.info('no affect model configured (model.dir / --model): publishing faces only');
      }
      const store = config.persistence.file !== null ? new StreamStore(config.persistence.file) : undefined;
      // Read before anything starts: a broken state file is a configuration error.
      const persisted = store?.load() ?? [];
      supervisor = new StreamSupervisor({ config, detector, metrics, logger: deps.logger, events, backend, ...(engine ? { engine } : {}), ...(store ? { store } : {}) });
      publisher = new WsPublisher(events, { metrics, logger: deps.logger }, {
        maxClients: config.server.maxWsClients,
        maxBufferedBytes: config.server.wsQueueMessages * 1024,
        maxBehindMs: config.server.wsMaxBehindMs,
      });
      const sup = supervisor;
      const pub = publisher;
      http = new HttpServer({
        supervisor: sup,
        publisher: pub,
        metrics,
        logger: deps.logger,
        maxBodyBytes: config.server.maxBodyBytes,
        auth: config.auth,
        readiness: {
          ready: () => {
            // A crashed model worker is being restarted: not ready until it is back.
            const hosts = [detector?.health(), engine?.health()].filter((h) => h !== undefined);
            const checks = {
              models: detector !== undefined && hosts.every((h) => h.state === 'ready'),
              server: http?.listening === true,
              shuttingDown: closing,
            };
            return {
              ready: checks.models && checks.server && !closing,
              checks,
              details: {
                backend,
                modelHosts: hosts,
                affectModel: engine
                  ? { id: engine.id, version: engine.version, kind: engine.kind, seqLen: engine.seqLen, stride: config.model.stride, smoothing: config.model.smoothing, runtime: engine.runtime, workers: engine.workers }
                  : 'none loaded (faces only; start with --model DIR for affect events)',
                streams: sup.list().length,
              },
            };
          },
        },
      });
      const address = await http.listen(config.server.port, config.server.host);
      log.info({ host: address.address, port: address.port, auth: config.auth.token !== null }, 'listening');
      if (config.auth.token === null && !isLoopback(config.server.host)) {
        log.warn({ host: config.server.host }, 'listening beyond loopback without auth: anyone who can reach this port controls the streams (set auth.token / --token / DAEMON_TOKEN)');
      }
      for (const s of config.streams) sup.add(s, 'config');
      for (const s of persisted) {
        if (sup.has(s.id)) log.warn({ streamId: s.id }, 'persisted stream shadowed by a config stream of the same id');
        else sup.add(s, 'api');
      }
      if (persisted.length > 0) log.info({ streams: persisted.length }, 'persisted streams restored');
      return address;
    },

    close() {
      closed ??= (async () => {
        closing = true;
        // Reverse start order: sources first (no new events), then clients, then the socket.
        await supervisor?.close();
        await publisher?.close();
        await http?.close();
        events.complete();
        await engine?.close();
        await detector?.close();
        log.info('daemon stopped');
      })();
      return closed;
    },
  };
}
