import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { ClusterCoordinator } from './cluster/coordinator.js';
import { RedisLeaseStore } from './cluster/redis-lease-store.js';
import { Subject } from 'rxjs';
import type { Registry } from 'prom-client';
import type { Config } from './config/schema.js';
import { ErrorCodes, ModelLoadError } from './core/errors.js';
import type { AnalyticsEvent } from './core/records.js';
import { AffectEngine } from './models/affect/affect-engine.js';
import type { Int8Calibration } from './models/onnx/int8-calibration.js';
import { loadCalibrationFaces } from './pipeline/int8-calibration-faces.js';
import { selectBackend, tensorCount } from './models/backend.js';
import { HostedFaceDetector, type FaceDetectorHost } from './models/face-detector/face-detector-host.js';
import type { FaceEngines } from './models/face-detector/index.js';
import type { HostHealth } from './models/runtime/model-host.js';

import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { routeFfmpegLogs } from './streams/open-source.js';
import { StreamStore } from './supervisor/stream-store.js';
import { StreamSupervisor, restorePlan } from './supervisor/stream-supervisor.js';
import { HttpServer } from './transport/http-server.js';
import { accessPolicy } from './transport/request-guard.js';
import { SnapshotRegistry } from './transport/snapshots.js';
import { WsPublisher } from './transport/ws-publisher.js';
import { startSinks } from './transport/sinks/build-sinks.js';
import type { EventSink } from './transport/sinks/event-sink.js';
import { startControlListener, type ControlListener } from './transport/sinks/control-listener.js';

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
  let faceEngines: FaceEngines | undefined;
  let engine: AffectEngine | undefined;
  let sinks: EventSink[] = [];
  let cluster: ClusterCoordinator | undefined;
  let controls: Promise<ControlListener | undefined>[] = [];
  const controlAbort = new AbortController();
  const metrics = createMetrics(deps.registry, {
    sinks: () => sinks.map((s) => s.status()),
    cluster: () => (cluster ? { members: cluster.status().members.length, owned: cluster.ownedCount() } : undefined),
    tensorCount: async () => tensorCount() + ((await detector?.tensors().catch(() => 0)) ?? 0) + ((await engine?.tensors().catch(() => 0)) ?? 0),
  });
  const events = new Subject<AnalyticsEvent>();
  let supervisor: StreamSupervisor | undefined;
  let publisher: WsPublisher | undefined;
  let http: HttpServer | undefined;
  let snapshots: SnapshotRegistry | undefined;
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
      // Read and checked before anything starts: a state file that cannot be read or written
      // back, or that lists more streams than may run, is a configuration error.
      const store = config.persistence.file !== null ? new StreamStore(config.persistence.file) : undefined;
      const persisted = store?.load() ?? [];
      restorePlan(config, config.streams, persisted, store?.file);
      routeFfmpegLogs(deps.logger);
      const info = await selectBackend(config.backend);
      backend = info.name;
      metrics.backendInfo.set({ backend }, 1);
      // Optional backends that are not installed are the usual case: said once, at debug; one
      // that is installed and fails to start is worth a warning.
      const notInstalled = info.tried.filter((t) => t.notInstalled);
      if (notInstalled.length > 0) log.debug({ notInstalled: notInstalled.map((t) => t.name), reasons: notInstalled.map((t) => t.error) }, 'optional TF.js backends not installed');
      for (const t of info.tried) if (!t.notInstalled) log.warn({ backend: t.name, reason: t.error }, 'TF.js backend failed to start, trying the next');
      log.info({ backend, requested: config.backend }, 'TF.js backend selected');
      try {
        const hosted = await HostedFaceDetector.open({ worker: config.detector.worker, backend: config.backend, engine: config.detector.engine, threads: config.detector.threads, onHostState: hostState });
        detector = hosted;
        faceEngines = hosted.engines;
        metrics.modelHostUp.set({ host: 'face-detector' }, 1);
      } catch (err) {
        if (err instanceof ModelLoadError) throw err;
        throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `face models failed to load: ${(err as Error).message}`, { cause: err });
      }
      log.info({ worker: config.detector.worker, engines: faceEngines }, 'face models loaded (BlazeFace + FaceMesh from @vladmandic/human)');
      if (config.model.dir !== null) {
        let calibration: Int8Calibration | undefined;
        if (config.model.engine === 'onnx-int8') {
          calibration = await loadCalibrationFaces({ dir: config.model.int8Calibration, alignSize: config.alignment.size });
          log.info({ calibration: calibration.name }, 'int8 calibration faces loaded (the quantised graphs are cached per set)');
        }
        engine = await AffectEngine.load(config.model.dir, { ...config.model, backend: config.backend, ...(calibration !== undefined ? { calibration } : {}) }, {
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
          { model: engine.id, modelVersion: engine.version, kind: engine.kind, seqLen: engine.seqLen, members: engine.runtime.members.length, worker: config.model.worker, workers: engine.workers, runtime: engine.runtime, provenance: p },
          'affect model loaded',
        );
        const fallback = engine.runtime.fallback;
        if (fallback !== undefined) log.warn({ engine: engine.runtime.engine, reason: fallback }, 'ONNX Runtime unavailable for the affect model: running it on TF.js');
      } else {
        log.info('no affect model configured (model.dir / --model): publishing faces only');
      }
      snapshots = new SnapshotRegistry(events, config.server.snapshotMaxFps);
      supervisor = new StreamSupervisor({ config, detector, metrics, logger: deps.logger, events, backend, snapshots, ...(engine ? { engine } : {}), ...(store ? { store } : {}) });
      publisher = new WsPublisher(events, { metrics, logger: deps.logger }, {
        maxClients: config.server.maxWsClients,
        maxBufferedBytes: config.server.wsQueueMessages * 1024,
        maxBehindMs: config.server.wsMaxBehindMs,
        pingIntervalMs: config.server.wsPingMs,
      });
      // Sinks subscribe before any stream starts, so brokers see every stream's first events.
      sinks = startSinks(config.sinks, events, { metrics, logger: deps.logger });
      const sup = supervisor;
      const pub = publisher;
      http = new HttpServer({
        supervisor: sup,
        publisher: pub,
        snapshots,
        metrics,
        logger: deps.logger,
        maxBodyBytes: config.server.maxBodyBytes,
        auth: config.auth,
        access: accessPolicy(config.server),
        cluster: () => cluster?.status(),
        readiness: {
          ready: () => {
            const view = cluster?.status();
            // A crashed model worker is being restarted: not ready until it is back.
            const hosts = [detector?.health(), engine?.health()].filter((h) => h !== undefined);
            const checks = {
              models: detector !== undefined && hosts.every((h) => h.state === 'ready'),
              server: http?.listening === true,
              shuttingDown: closing,
              ...(view ? { cluster: view.healthy } : {}),
            };
            return {
              ready: checks.models && checks.server && !closing && (view?.healthy ?? true),
              checks,
              details: {
                backend,
                modelHosts: hosts,
                affectModel: engine
                  ? { id: engine.id, version: engine.version, kind: engine.kind, seqLen: engine.seqLen, stride: config.model.stride, smoothing: config.model.smoothing, runtime: engine.runtime, workers: engine.workers }
                  : 'none loaded (faces only; start with --model DIR for affect events)',
                streams: sup.list().length,
                ...(view ? { cluster: { instance: view.instance, members: view.members.map((m) => m.id), owned: cluster?.ownedCount() ?? 0 } } : {}),
                ...(sinks.length > 0 ? { sinks: sinks.map((s) => s.status()) } : {}),
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
      if (['0.0.0.0', '::'].includes(config.server.host) && config.server.allowedHosts.length === 0) {
        log.warn({ host: config.server.host }, 'bound to a wildcard address: only loopback Host names are answered; list the names clients use in server.allowedHosts');
      }
      // The cluster's name for this instance, also the {instance} of control topics.
      const instance = config.cluster?.instanceId ?? `${hostname()}:${address.port}`;
      // Control topics connect in the background: an absent broker must not hold up the start.
      controls = config.sinks.map((s) =>
        startControlListener(s, sup, { logger: deps.logger, maxBytes: config.server.maxBodyBytes, signal: controlAbort.signal, instance, metrics }).catch((err: unknown) => {
          log.warn({ sink: s.name, err }, 'stream control through the broker is unavailable');
          return undefined;
        }),
      );
      if (config.cluster) {
        const c = config.cluster;
        sup.reserveForCluster(config.streams.map((s) => s.id));
        // This instance's own API streams come back here; the config's streams are the cluster's.
        const own = persisted.filter((s) => !sup.isClusterStream(s.id));
        for (const s of persisted) if (sup.isClusterStream(s.id)) log.warn({ streamId: s.id }, 'persisted stream skipped: its id belongs to the cluster');
        await sup.restore([], own);
        cluster = new ClusterCoordinator(
          new RedisLeaseStore(c.redis, c.prefix, { commandTimeoutMs: Math.max(1000, c.tickMs) }),
          // Leased streams are config streams: never persisted, started and stopped by their lease.
          { start: async (cfg) => void (await sup.add(cfg, 'config')), stop: async (id) => void (await sup.remove(id, 'cluster')) },
          { member: { id: instance, api: c.advertiseUrl ?? `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` }, streams: config.streams, leaseTtlMs: c.leaseTtlMs, tickMs: c.tickMs },
          deps.logger,
          { onLeaseChange: (reason) => metrics.clusterLeaseChanges.inc({ reason }) },
        );
        // A second process with this instanceId refuses to start (VA_ERR_CONFLICT, exit 1).
        await cluster.join();
        cluster.start();
        log.info({ instance, streams: config.streams.length }, 'cluster member: streams run where their lease is held');
      } else {
        await sup.restore(config.streams, persisted);
      }
      return address;
    },

    close() {
      closed ??= (async () => {
        closing = true;
        // Reverse start order: sources first (no new events), then clients, then the socket.
        // No more commands from brokers while the streams stop.
        controlAbort.abort();
        // Leased streams stop and their leases go back before anything else closes.
        await cluster?.close();
        await Promise.all(controls.map(async (c) => (await c)?.close().catch(() => undefined)));
        await supervisor?.close();
        // After the streams: their last events (ended, removed) still reach the brokers.
        await Promise.all(sinks.map((s) => s.close()));
        await publisher?.close();
        await http?.close();
        snapshots?.close();
        events.complete();
        await engine?.close();
        await detector?.close();
        log.info('daemon stopped');
      })();
      return closed;
    },
  };
}
