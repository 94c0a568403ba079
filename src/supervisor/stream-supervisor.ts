import { existsSync, realpathSync } from 'node:fs';
import type { Subject, Subscription } from 'rxjs';
import type { Config, StreamConfig } from '../config/schema.js';
import { AnalyticsError, ErrorCodes, SourceError, asAnalyticsError } from '../core/errors.js';
import { asStreamId, type StreamId } from '../core/ids.js';
import type { AnalyticsEvent, StreamState } from '../core/records.js';
import type { AffectEngine } from '../models/affect/affect-engine.js';
import type { StreamStore } from './stream-store.js';
import type { FaceDetectorHost } from '../models/face-detector/worker-detector.js';
import type { Logger } from '../observability/logger.js';
import { forgetStream, initStreamSeries, setStreamState, type Metrics } from '../observability/metrics.js';
import { buildPipeline } from '../pipeline/build-pipeline.js';
import { CreditGate } from '../pipeline/credit-gate.js';
import { fromSource } from '../pipeline/from-source.js';
import type { SnapshotSink } from '../pipeline/snapshot-tap.js';
import { isUnderRoots, openSource, parseSourceUrl, reconnecting, redactUrl, scrubCredentials, type SourceSpec } from '../streams/open-source.js';

export interface StreamInfo {
  readonly id: string;
  readonly url: string;
  readonly kind: SourceSpec['kind'] | 'unknown';
  readonly realtime: boolean;
  readonly loop: boolean;
  readonly origin: 'config' | 'api';
  readonly state: StreamState;
  readonly error?: { readonly code: string; readonly message: string };
  readonly createdAt: string;
  readonly framesDecoded: number;
  readonly framesAnalysed: number;
  readonly framesDropped: number;
  readonly activeTracks: number;
  readonly reconnects: number;
  readonly width?: number;
  readonly height?: number;
}

interface StreamHandle {
  readonly cfg: StreamConfig;
  info: { -readonly [K in keyof StreamInfo]: StreamInfo[K] };
  subscription?: Subscription;
  /** Resolves once the source has released its native resources. */
  released: Promise<void>;
  closeSession?: () => void;
}

/** How long remove() waits for a source to let go (a camera read blocked in the kernel may not). */
const RELEASE_WAIT_MS = 3000;

export interface SupervisorDeps {
  readonly config: Config;
  readonly detector: FaceDetectorHost;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly events: Subject<AnalyticsEvent>;
  readonly backend: string;
  /** Present when a model is loaded: streams then publish affect events. */
  readonly engine?: AffectEngine;
  /** Present when API-added streams are persisted. */
  readonly store?: StreamStore;
  /** Latest-frame snapshots per stream (GET /v1/streams/{id}/snapshot.jpg). */
  readonly snapshots?: { open(streamId: string): SnapshotSink; forget(streamId: string): void };
}

/** Owns every stream: starts, stops and reports them; one stream's failure stays in that stream. */
export class StreamSupervisor {
  private readonly streams = new Map<string, StreamHandle>();
  /** Ids placed by cluster leases: the API (HTTP, control topics) may neither add nor remove them. */
  private readonly clusterIds = new Set<string>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly deps: SupervisorDeps) {
    this.log = deps.logger.child({ component: 'supervisor' });
  }

  /**
   * Marks ids as the cluster's: only their lease starts and stops them here. A stream added through
   * the API under such an id would run beside the lease holder's, and one removed through the API
   * would leave its lease held (and renewed) with the camera running nowhere.
   */
  reserveForCluster(ids: Iterable<string>): void {
    for (const id of ids) this.clusterIds.add(id);
  }

  isClusterStream(id: string): boolean {
    return this.clusterIds.has(id);
  }

  has(id: string): boolean {
    return this.streams.has(id);
  }

  list(): StreamInfo[] {
    return [...this.streams.values()].map((h) => ({ ...h.info }));
  }

  get(id: string): StreamInfo | undefined {
    const h = this.streams.get(id);
    return h ? { ...h.info } : undefined;
  }

  /**
   * Checks an API request's URL before a stream exists: scheme allowlist and file roots.
   * Throws SourceError (VA_ERR_SOURCE_SCHEME / VA_ERR_SOURCE_FORBIDDEN).
   */
  vetApiUrl(url: string): void {
    const spec = parseSourceUrl(url);
    if (spec.kind !== 'file') return;
    // Compare real paths on both sides: a symlink must not lead out of (or be refused from) a root.
    const real = (p: string): string => (existsSync(p) ? realpathSync(p) : p);
    if (!isUnderRoots(real(spec.path), this.deps.config.files.roots.map(real))) {
      throw new SourceError(ErrorCodes.SOURCE_FORBIDDEN, `file sources must lie under the configured file roots (${this.deps.config.files.roots.join(', ')})`, {
        context: { path: spec.path },
      });
    }
  }

  add(cfg: StreamConfig, origin: 'config' | 'api'): StreamInfo {
    if (this.closed) throw new AnalyticsError(ErrorCodes.INTERNAL, 'the daemon is shutting down');
    if (this.streams.has(cfg.id)) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${cfg.id} already exists`);
    if (origin === 'api' && this.clusterIds.has(cfg.id)) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream id ${cfg.id} belongs to the cluster: its lease decides where it runs`);
    const max = this.deps.config.server.maxStreams;
    if (this.streams.size >= max) throw new AnalyticsError(ErrorCodes.LIMIT, `the daemon already runs its maximum of ${max} streams (server.maxStreams)`);
    const id = asStreamId(cfg.id);
    const handle: StreamHandle = {
      cfg,
      info: {
        id,
        url: redactUrl(cfg.url),
        kind: 'unknown',
        realtime: cfg.realtime,
        loop: cfg.loop,
        origin,
        state: 'starting',
        createdAt: new Date().toISOString(),
        framesDecoded: 0,
        framesAnalysed: 0,
        framesDropped: 0,
        activeTracks: 0,
        reconnects: 0,
      },
      released: Promise.resolve(),
    };
    this.streams.set(id, handle);
    if (origin === 'api') this.persist();
    this.launch(handle);
    return { ...handle.info };
  }

  private launch(handle: StreamHandle): void {
    this.setState(handle, 'starting');
    let spec: SourceSpec;
    try {
      spec = parseSourceUrl(handle.cfg.url);
    } catch (err) {
      this.fail(handle, err);
      return;
    }
    handle.info.kind = spec.kind;
    this.start(handle, spec);
  }

  /** Stops a stream's source and pipeline and starts them afresh, keeping its id and settings. */
  async restart(id: string): Promise<StreamInfo | undefined> {
    const h = this.streams.get(id);
    if (!h) return undefined;
    await this.stop(h);
    if (this.streams.get(id) !== h) return undefined;
    Object.assign(h.info, { framesDecoded: 0, framesAnalysed: 0, framesDropped: 0, activeTracks: 0, reconnects: 0 });
    delete h.info.error;
    this.log.info({ streamId: id }, 'stream restarting');
    this.launch(h);
    return { ...h.info };
  }

  private persist(): void {
    const store = this.deps.store;
    if (!store) return;
    try {
      store.save([...this.streams.values()].filter((h) => h.info.origin === 'api').map((h) => h.cfg));
    } catch (err) {
      this.log.error({ err, file: store.file }, 'could not save the stream state file');
    }
  }

  private start(handle: StreamHandle, spec: SourceSpec): void {
    const { config, metrics, detector, events, engine } = this.deps;
    const cfg = handle.cfg;
    const analysisFps = cfg.analysisFps ?? config.analysis.analysisFps ?? undefined;
    const id = handle.info.id as StreamId;
    const labels = { stream: id };
    initStreamSeries(metrics, id);
    const log = this.deps.logger.child({ component: 'stream', streamId: id });
    // A camera or a paced file cannot wait for us: drop the oldest. A fast file can: back-pressure.
    const gate = cfg.realtime || spec.kind !== 'file' ? undefined : new CreditGate(config.analysis.queueFrames + 1);
    const session = detector.createSession(config.detector);
    let released!: () => void;
    handle.released = new Promise<void>((r) => (released = r));
    // The detector session outlives the source: frames still queued for detection need it.
    handle.closeSession = () => session.close?.();
    const sourceOpts = {
      realtime: cfg.realtime,
      loop: cfg.loop,
      maxWidth: config.analysis.maxWidth,
      rtspTransport: cfg.transport ?? config.rtsp.transport,
      rtspTimeoutMs: config.rtsp.timeoutMs,
      ...(analysisFps !== undefined ? { sampleFps: analysisFps, onSkipped: () => metrics.framesSkipped.inc(labels) } : {}),
    };
    // Cameras come and go: a live source reconnects with backoff; files fail (or end) for good.
    const open =
      spec.kind === 'rtsp'
        ? (signal: AbortSignal) =>
            reconnecting(
              (s) => openSource(spec, { ...sourceOpts, signal: s }),
              { ...config.rtsp.reconnect, stallTimeoutMs: config.rtsp.stallTimeoutMs },
              {
                onReconnecting: ({ attempt, delayMs, error }) => {
                  metrics.streamReconnects.inc(labels);
                  handle.info.reconnects++;
                  const message = scrubCredentials(error.message);
                  handle.info.error = { code: error.code, message };
                  log.warn({ attempt, delayMs, code: error.code, error: message }, 'source lost, reconnecting');
                  if (handle.info.state !== 'reconnecting') this.setState(handle, 'reconnecting');
                },
                onRecovered: ({ attempts }) => {
                  log.info({ attempts }, 'source recovered');
                  delete handle.info.error;
                  this.setState(handle, 'running');
                },
              },
              { signal },
            )
        : (signal: AbortSignal) => openSource(spec, { ...sourceOpts, signal });
    const frames = fromSource(open, {
      streamId: id,
      ...(gate ? { gate } : {}),
      onReleased: () => released(),
      onDecoded: (raw) => {
        if (handle.info.state === 'starting') {
          handle.info.width = raw.sourceWidth;
          handle.info.height = raw.sourceHeight;
          this.setState(handle, 'running');
          log.info({ width: raw.sourceWidth, height: raw.sourceHeight, kind: spec.kind }, 'stream running');
        }
        handle.info.framesDecoded++;
        metrics.framesDecoded.inc(labels);
        metrics.decodeDuration.observe(labels, raw.decodeSeconds);
      },
    });
    handle.subscription = buildPipeline(
      frames,
      {
        session,
        ...(gate ? { gate } : {}),
        onDetected: (rec) => {
          handle.info.framesAnalysed++;
          metrics.framesAnalysed.inc(labels);
          metrics.detectDuration.observe({ stream: id, backend: this.deps.backend }, rec.detectMs / 1000);
          metrics.facesPerFrame.observe(labels, rec.faces.length);
          log.trace({ frameSeq: rec.frame.seq, faces: rec.faces.length, durationMs: rec.detectMs }, 'frame analysed');
        },
        onDrop: () => {
          handle.info.framesDropped++;
          metrics.framesDropped.inc(labels);
        },
      },
      {
        queueFrames: config.analysis.queueFrames,
        alignSize: config.alignment.size,
        tracker: config.tracker,
        ...(this.deps.snapshots ? { snapshot: this.deps.snapshots.open(id) } : {}),
        onActiveTracks: (n) => {
          handle.info.activeTracks = n;
          metrics.activeTracks.set(labels, n);
        },
        ...(engine
          ? {
              affect: {
                deps: {
                  engine,
                  streamId: id,
                  onDropped: (what: 'frame' | 'window', count: number) =>
                    (what === 'window' ? metrics.windowsDropped : metrics.affectFramesDropped).inc(labels, count),
                },
                options: { stride: config.model.stride, smoothing: config.model.smoothing, queueFrames: config.model.queueFrames, maxTracks: config.model.maxTracks },
              },
            }
          : {}),
      },
    ).subscribe({
      next: (event) => {
        if (event.type === 'track' && event.state === 'started') metrics.tracksStarted.inc(labels);
        if (event.type === 'affect') {
          metrics.affectEvents.inc(labels);
          metrics.endToEndLatency.observe(labels, event.latencyMs / 1000);
        }
        events.next(event);
      },
      error: (err: unknown) => {
        handle.closeSession?.();
        this.fail(handle, err);
      },
      complete: () => {
        handle.closeSession?.();
        this.setState(handle, 'ended');
        log.info({ frames: handle.info.framesDecoded }, 'stream ended');
      },
    });
  }

  private fail(handle: StreamHandle, err: unknown): void {
    const e = asAnalyticsError(err, ErrorCodes.DECODE);
    // Source errors can quote the URL: never let credentials into the API, events or logs.
    const message = scrubCredentials(e.message);
    handle.info.error = { code: e.code, message };
    this.deps.metrics.streamErrors.inc({ stream: handle.info.id, code: e.code });
    this.deps.logger.child({ component: 'stream', streamId: handle.info.id }).error({ code: e.code, error: message }, 'stream failed');
    this.setState(handle, 'failed');
  }

  private setState(handle: StreamHandle, state: StreamState): void {
    handle.info.state = state;
    setStreamState(this.deps.metrics, handle.info.id, state);
    this.deps.events.next({
      type: 'stream',
      streamId: handle.info.id,
      state,
      ...(state === 'failed' && handle.info.error ? { error: handle.info.error } : {}),
      ts: new Date().toISOString(),
    });
  }

  /** Stops and forgets a stream; its native resources are released before this resolves. */
  /** `by: 'cluster'` is the lease coordinator (and shutdown); the API may not remove cluster streams. */
  async remove(id: string, by: 'api' | 'cluster' = 'api'): Promise<boolean> {
    const h = this.streams.get(id);
    if (!h) return false;
    if (by === 'api' && this.clusterIds.has(id)) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${id} belongs to the cluster: remove it from the cluster's config (its lease decides where it runs)`);
    this.streams.delete(id);
    if (h.info.origin === 'api' && !this.closed) this.persist();
    await this.stop(h);
    forgetStream(this.deps.metrics, id);
    this.deps.snapshots?.forget(id);
    this.log.info({ streamId: id }, 'stream removed');
    return true;
  }

  /** Unsubscribes the pipeline and waits (bounded) until the source freed its native resources. */
  private async stop(h: StreamHandle): Promise<void> {
    const id = h.info.id;
    h.subscription?.unsubscribe();
    h.closeSession?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      h.released.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), RELEASE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.log.warn({ streamId: id }, 'source still releasing after removal');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.streams.keys()].map((id) => this.remove(id, 'cluster')));
  }
}
