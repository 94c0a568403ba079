import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import type { ClusterCoordinator } from './cluster/coordinator.js';
import type { Config } from './config/schema.js';
import type { AnalyticsEvent } from './core/records.js';
import { closeControlListeners, startControlListeners } from './daemon/control-listeners.js';
import { warnAboutExposure } from './daemon/exposure-warnings.js';
import { reportHostState } from './daemon/host-health.js';
import { closeModels, loadModels, type DaemonModels } from './daemon/load-models.js';
import { openTransport } from './daemon/open-transport.js';
import { daemonReadiness } from './daemon/readiness.js';
import { closeRecordings, openRecordings, type RecordingParts } from './daemon/open-recordings.js';
import { clusterCoordinator, instanceName, startStreams } from './daemon/start-streams.js';
import { readStateFile } from './daemon/state-file.js';
import type { QueuedAffectModel } from './models/affect/queued-affect-model.js';
import { tensorCount } from './models/backend.js';
import type { FaceDetectorHost } from './models/face-detector/face-detector-host.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { PushChannels, routeFfmpegLogs } from './streams/open-source.js';
import { StreamSupervisor } from './supervisor/stream-supervisor.js';
import type { HttpServer } from './transport/http-server.js';
import type { ControlListener } from './transport/sinks/control-listener.js';
import { startSinks } from './transport/sinks/build-sinks.js';
import type { EventSink } from './transport/sinks/event-sink.js';
import { SnapshotRegistry } from './transport/snapshots.js';
import type { WsPublisher } from './transport/ws-publisher.js';
import type { IngestServer } from './transport/ingest-socket.js';

/**
 * The model hosts start() loaded; a field is undefined before start() or when that model is not
 * configured. Built field by field (no spreads), so a renamed field fails to compile here and in
 * every test that reads it.
 */
export interface LoadedModelHosts {
  readonly detector: FaceDetectorHost | undefined;
  readonly affectModel: QueuedAffectModel | undefined;
}

export interface Daemon {
  readonly metrics: Metrics;
  readonly events: Subject<AnalyticsEvent>;
  supervisor(): StreamSupervisor;
  /** The loaded model hosts (for drills and tests: health, killWorker). */
  models(): LoadedModelHosts;
  start(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** What start() has brought up, each part set once it runs (close() releases what is there). */
interface Running {
  models?: DaemonModels;
  snapshots?: SnapshotRegistry;
  supervisor?: StreamSupervisor;
  publisher?: WsPublisher;
  recordings?: RecordingParts;
  ingest?: IngestServer;
  http?: HttpServer;
  sinks: EventSink[];
  controls: Promise<ControlListener | undefined>[];
  cluster?: ClusterCoordinator | undefined;
  closing: boolean;
}

/**
 * The composition root: everything the daemon runs is built here, in order (state file, models,
 * supervisor, transport, sinks, listening, control topics, streams or cluster), and torn down in
 * reverse. Each step is a function of src/daemon/.
 */
export function buildDaemon(config: Config, deps: { readonly logger: Logger; readonly registry?: Registry }): Daemon {
  const log = deps.logger.child({ component: 'daemon' });
  const run: Running = { sinks: [], controls: [], closing: false };
  const controlAbort = new AbortController();
  const metrics = createMetrics(deps.registry, {
    sinks: () => run.sinks.map((s) => s.status()),
    cluster: () => (run.cluster ? { members: run.cluster.status().members.length, owned: run.cluster.ownedCount() } : undefined),
    tensorCount: async () =>
      tensorCount() + ((await run.models?.detector.tensors().catch(() => 0)) ?? 0) + ((await run.models?.affectModel?.tensors().catch(() => 0)) ?? 0),
  });
  const events = new Subject<AnalyticsEvent>();
  let closed: Promise<void> | undefined;

  async function start(): Promise<AddressInfo> {
    const { store, persisted } = readStateFile(config);
    routeFfmpegLogs(deps.logger);
    run.models = await loadModels(config, { log, metrics, onHostState: reportHostState(metrics, log) });
    const { backend, detector, affectModel } = run.models;
    const snapshots = (run.snapshots = new SnapshotRegistry(events, config.server.snapshotMaxFps));
    const pushChannels = new PushChannels();
    const sup = (run.supervisor = new StreamSupervisor({ config, detector, metrics, logger: deps.logger, events, backend, snapshots, pushChannels, ...(affectModel ? { affectModel } : {}), ...(store ? { store } : {}) }));
    // Before any stream starts: recordings a killed daemon left open are closed first.
    const recordings = (run.recordings = await openRecordings(config, { events, supervisor: sup, metrics, logger: deps.logger, models: () => run.models }));
    const readiness = daemonReadiness(config.model, {
      models: () => run.models,
      listening: () => run.http?.listening === true,
      closing: () => run.closing,
      streamCount: () => sup.list().length,
      cluster: () => run.cluster,
      sinks: () => run.sinks,
    });
    const { publisher, ingest, http } = openTransport(config, { events, metrics, logger: deps.logger, supervisor: sup, snapshots, readiness, pushChannels, recordings, cluster: () => run.cluster?.status(), baselines: sup.baselines });
    run.publisher = publisher;
    run.ingest = ingest;
    run.http = http;
    // Sinks subscribe before any stream starts, so brokers see every stream's first events.
    run.sinks = startSinks(config.sinks, events, { metrics, logger: deps.logger });
    const address = await http.listen(config.server.port, config.server.host);
    log.info({ host: address.address, port: address.port, auth: config.auth.token !== null }, 'listening');
    warnAboutExposure(config.server, config.auth, log);
    const instance = instanceName(config, address);
    run.controls = startControlListeners(config, sup, { logger: deps.logger, metrics, signal: controlAbort.signal, instance });
    run.cluster = clusterCoordinator(config, sup, { logger: deps.logger, metrics, instance, address });
    await startStreams(config, sup, persisted, run.cluster, deps.logger);
    return address;
  }

  async function close(): Promise<void> {
    run.closing = true;
    // Reverse start order: sources first (no new events), then clients, then the socket.
    // No more commands from brokers while the streams stop.
    controlAbort.abort();
    // Leased streams stop and their leases go back before anything else closes.
    await run.cluster?.close();
    await closeControlListeners(run.controls);
    // Recordings end (trailer written, `finished`) while their streams still run.
    closeRecordings(run.recordings);
    await run.supervisor?.close();
    // After the streams: their last events (ended, removed) still reach the brokers.
    await Promise.all(run.sinks.map((s) => s.close()));
    await run.publisher?.close();
    await run.ingest?.close();
    await run.http?.close();
    run.snapshots?.close();
    events.complete();
    await closeModels(run.models);
    log.info('daemon stopped');
  }

  return {
    metrics,
    events,
    supervisor() {
      if (!run.supervisor) throw new Error('daemon not started');
      return run.supervisor;
    },
    models() {
      const hosts: LoadedModelHosts = { detector: run.models?.detector, affectModel: run.models?.affectModel };
      return hosts;
    },
    start,
    close: () => (closed ??= close()),
  };
}
