import type { Subject } from 'rxjs';
import type { BaselineControls } from '../pipeline/affect/baseline-affect.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Config } from '../config/schema.js';
import type { AnalyticsEvent } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { HttpServer, type Readiness } from '../transport/http-server.js';
import { accessPolicy } from '../transport/request-guard.js';
import type { SnapshotRegistry } from '../transport/snapshots.js';
import type { StreamApi } from '../transport/stream-api.js';
import { WsPublisher } from '../transport/ws-publisher.js';
import { IngestServer } from '../transport/ingest-socket.js';
import type { PushChannels } from '../streams/open-source.js';
import type { RecordingParts } from './open-recordings.js';

/** The event WebSocket and the HTTP server (API, probes, metrics) on one port; not yet listening. */
export function openTransport(
  config: Config,
  deps: {
    readonly events: Subject<AnalyticsEvent>;
    readonly metrics: Metrics;
    readonly logger: Logger;
    readonly supervisor: StreamApi;
    readonly snapshots: SnapshotRegistry;
    readonly readiness: Readiness;
    readonly pushChannels: PushChannels;
    readonly recordings: RecordingParts;
    readonly cluster: () => ClusterView | undefined;
    /** The streams' per-track baselines, for calibrations. */
    readonly baselines?: Pick<BaselineControls, 'calibrate'>;
  },
): { readonly publisher: WsPublisher; readonly ingest: IngestServer; readonly http: HttpServer } {
  const { server } = config;
  const publisher = new WsPublisher(deps.events, { metrics: deps.metrics, logger: deps.logger }, {
    maxClients: server.maxWsClients,
    maxBufferedBytes: server.wsQueueMessages * 1024,
    maxBehindMs: server.wsMaxBehindMs,
    pingIntervalMs: server.wsPingMs,
  });
  const ingest = new IngestServer(
    { supervisor: deps.supervisor, channels: deps.pushChannels, events: deps.events, metrics: deps.metrics, logger: deps.logger },
    { ...config.ingest, pingIntervalMs: server.wsPingMs },
  );
  const http = new HttpServer({
    supervisor: deps.supervisor,
    publisher,
    ingest,
    snapshots: deps.snapshots,
    metrics: deps.metrics,
    logger: deps.logger,
    maxBodyBytes: server.maxBodyBytes,
    auth: config.auth,
    access: accessPolicy(server),
    cluster: deps.cluster,
    readiness: deps.readiness,
    ...(deps.baselines ? { baselines: { controls: deps.baselines, maxSeconds: config.baseline.maxCalibrationSeconds } } : {}),
    recordings: { recordings: deps.recordings.recordings, marker: (id, body) => deps.recordings.markers.publish(id, body), maxBodyBytes: server.maxBodyBytes },
  });
  return { publisher, ingest, http };
}
