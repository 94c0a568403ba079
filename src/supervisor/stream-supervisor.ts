import type { Observable, Subject, Subscription } from 'rxjs';
import { BaselineControls } from '../pipeline/affect/baseline-affect.js';
import type { Config, StreamConfig } from '../config/schema.js';
import { AnalyticsError, ConfigError, ErrorCodes, SourceError, asAnalyticsError } from '../core/errors.js';
import { asStreamId, type StreamId } from '../core/ids.js';
import type { AnalyticsEvent, StreamState } from '../core/records.js';
import type { QueuedAffectModel } from '../models/affect/queued-affect-model.js';
import type { FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import type { Logger } from '../observability/logger.js';
import { forgetStream, initStreamSeries, setStreamState, type Metrics } from '../observability/metrics.js';
import { OpenTracks } from '../pipeline/open-tracks.js';
import type { SnapshotSink } from '../pipeline/snapshot-tap.js';
import { runStream, type RunDeps, type RunSettings, type StreamRecord } from '../pipeline/run-stream.js';
import { PacketTap, parseSourceUrl, redactUrl, scrubCredentials, type PushChannels, type SourceSpec } from '../streams/open-source.js';
import { assertUnderRoots } from './file-roots.js';
import { KeyedSerial } from './keyed-serial.js';
import { applyRecord, type RecordTarget } from './record-adapter.js';
import { runSettings } from './run-settings.js';
import { scrubbedError } from './scrubbed-error.js';
import type { StreamInfo } from './stream-info.js';
import type { StreamStore } from './stream-store.js';

export type { StreamInfo } from './stream-info.js';

type Origin = 'config' | 'api' | 'ingest';

/** What a stream's snapshots may show (privacy.snapshots); push streams show none unless their client asked. */
export type SnapshotPrivacy = NonNullable<StreamConfig['privacy']>['snapshots'];

/** One subscription of runStream. Records of a run that is no longer its handle's are ignored. */
interface Run {
  readonly subscription: Subscription;
  released: Promise<void>;
  readonly tracks: OpenTracks;
}

interface StreamHandle {
  readonly id: StreamId;
  readonly cfg: StreamConfig;
  readonly info: RecordTarget['info'];
  run: Run | undefined;
  /** The stream's packets as received, across its runs (recordings attach here). */
  readonly tap: PacketTap;
}

/** How long a stop waits for a source to let go (a camera read blocked in the kernel may not). */
const RELEASE_WAIT_MS = 3000;

export interface SupervisorDeps {
  readonly config: Config;
  readonly detector: Pick<FaceDetectorHost, 'createSession'>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly events: Subject<AnalyticsEvent>;
  readonly backend: string;
  /** Present when a model is loaded: streams then publish affect events. */
  readonly affectModel?: QueuedAffectModel;
  /** Present when API-added streams are persisted. */
  readonly store?: StreamStore;
  /** Latest-frame snapshots per stream (GET /v1/streams/{id}/snapshot.jpg). */
  readonly snapshots?: { open(streamId: string, privacy: SnapshotPrivacy): SnapshotSink; forget(streamId: string): void };
  /** The channels of push streams (/v1/ingest/{id}); without them a `push:` source fails to open. */
  readonly pushChannels?: PushChannels;
  /** The seam unit tests replace: how one stream runs. */
  readonly run?: (spec: SourceSpec, settings: RunSettings, deps: RunDeps) => Observable<StreamRecord>;
}

/**
 * The registry of streams: adds, restarts and removes them one operation at a time per id, and
 * persists API-added ones. How a stream runs is runStream's business; what its records mean for
 * metrics, the API and state events is applyRecord's. One stream's failure stays in that stream.
 */
export class StreamSupervisor {
  private readonly streams = new Map<string, StreamHandle>();
  private readonly serial = new KeyedSerial();
  /** Persisted streams not restored (shadowed by a config stream): kept on disk all the same. */
  private readonly unrestored: StreamConfig[] = [];
  /** Ids placed by cluster leases: the API (HTTP, control topics) may neither add nor remove them. */
  private readonly clusterIds = new Set<string>();
  private readonly log: Logger;
  private closed = false;
  /** The running streams' per-track baselines, for calibrations (POST …/tracks/{trackId}/baseline). */
  readonly baselines = new BaselineControls();

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

  /** A stream's packet tap and its configuration (a recording attaches to the one and records the other). */
  recordable(id: string): { readonly tap: PacketTap; readonly cfg: StreamConfig } | undefined {
    const h = this.streams.get(id);
    return h ? { tap: h.tap, cfg: h.cfg } : undefined;
  }

  /**
   * Checks an API request's URL before a stream exists: scheme allowlist and file roots (checked
   * again at every start). Throws SourceError (VA_ERR_SOURCE_SCHEME / VA_ERR_SOURCE_FORBIDDEN).
   */
  vetApiUrl(url: string): void {
    const spec = parseSourceUrl(url);
    if (spec.kind === 'file') assertUnderRoots(spec.path, this.deps.config.files.roots);
    if (spec.kind === 'push') {
      throw new SourceError(ErrorCodes.SOURCE_SCHEME, 'push: streams are not added here: a client creates one by opening the WebSocket /v1/ingest/{id} and pushing frames (docs/ingest.md)');
    }
  }

  /**
   * Starts the configured streams and brings back the persisted ones, without writing the state
   * file: it keeps listing every persisted stream until an API change writes a complete new one.
   * Throws ConfigError (before starting anything) when they would exceed server.maxStreams.
   */
  async restore(configured: readonly StreamConfig[], persisted: readonly StreamConfig[]): Promise<void> {
    const { restored, shadowed } = restorePlan(this.deps.config, configured, persisted, this.deps.store?.file);
    for (const s of shadowed) this.log.warn({ streamId: s.id }, 'persisted stream shadowed by a config stream of the same id');
    this.unrestored.push(...shadowed);
    for (const s of configured) await this.add(s, 'config', { persist: false });
    for (const s of restored) await this.add(s, 'api', { persist: false });
    if (restored.length > 0) this.log.info({ streams: restored.length }, 'persisted streams restored');
  }

  /**
   * Registers and starts a stream. An API stream is persisted first: if that fails, nothing was
   * added and PersistenceError (VA_ERR_PERSISTENCE) is thrown.
   */
  add(cfg: StreamConfig, origin: Origin, opts: { readonly persist?: boolean } = {}): Promise<StreamInfo> {
    return this.serial.run(cfg.id, () => {
      if (this.closed) throw new AnalyticsError(ErrorCodes.INTERNAL, 'the daemon is shutting down');
      if (this.streams.has(cfg.id)) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${cfg.id} already exists`);
      if (origin !== 'config' && this.clusterIds.has(cfg.id)) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream id ${cfg.id} belongs to the cluster: its lease decides where it runs`);
      const max = this.deps.config.server.maxStreams;
      if (this.streams.size >= max) throw new AnalyticsError(ErrorCodes.LIMIT, `the daemon already runs its maximum of ${max} streams (server.maxStreams)`);
      const id = asStreamId(cfg.id);
      const handle: StreamHandle = {
        id,
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
          ...zeroCounters(),
        },
        run: undefined,
        tap: new PacketTap(),
      };
      this.streams.set(id, handle);
      if (origin === 'api' && opts.persist !== false) {
        try {
          this.persist();
        } catch (err) {
          this.streams.delete(id);
          throw err;
        }
      }
      this.launch(handle);
      return { ...handle.info };
    });
  }

  /** Stops a stream's run and starts it afresh, keeping its id and settings; undefined if unknown. */
  restart(id: string): Promise<StreamInfo | undefined> {
    return this.serial.run(id, async () => {
      const h = this.streams.get(id);
      if (!h || this.closed) return undefined;
      await this.stop(h);
      Object.assign(h.info, zeroCounters());
      delete h.info.error;
      this.log.info({ streamId: id }, 'stream restarting');
      this.launch(h);
      return { ...h.info };
    });
  }

  /**
   * Stops and forgets a stream; its native resources are released (bounded wait) before this
   * resolves. An API stream is unpersisted first: if that fails it keeps running and
   * PersistenceError is thrown.
   */
  /** `by: 'cluster'` is the lease coordinator (and shutdown); the API may not remove cluster streams. */
  remove(id: string, by: 'api' | 'cluster' = 'api'): Promise<boolean> {
    return this.serial.run(id, async () => {
      const h = this.streams.get(id);
      if (!h) return false;
      if (by === 'api' && this.clusterIds.has(id)) {
        throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${id} belongs to the cluster: remove it from the cluster's config (its lease decides where it runs)`);
      }
      this.streams.delete(id);
      if (h.info.origin === 'api' && !this.closed) {
        try {
          this.persist();
        } catch (err) {
          this.streams.set(id, h);
          throw err;
        }
      }
      await this.stop(h);
      this.publishState(h, 'removed');
      forgetStream(this.deps.metrics, id);
      this.deps.snapshots?.forget(id);
      this.log.info({ streamId: id }, 'stream removed');
      return true;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.streams.keys()].map((id) => this.remove(id, 'cluster')));
  }

  private persist(): void {
    const store = this.deps.store;
    if (!store) return;
    const api = [...this.streams.values()].filter((h) => h.info.origin === 'api').map((h) => h.cfg);
    store.save([...api, ...this.unrestored.filter((u) => !api.some((a) => a.id === u.id))]);
  }

  /** Subscribes a new run of the stream (the caller holds the id's turn). */
  private launch(h: StreamHandle): void {
    this.setState(h, 'starting');
    let spec: SourceSpec;
    try {
      spec = parseSourceUrl(h.cfg.url);
      h.info.kind = spec.kind;
      // API streams may only read under the roots, as they are now: checked at every start.
      if (spec.kind === 'file' && h.info.origin === 'api') assertUnderRoots(spec.path, this.deps.config.files.roots);
    } catch (err) {
      this.fail(h, err);
      return;
    }
    const { config, detector, affectModel } = this.deps;
    const resolved = runSettings(config, h.cfg, h.id, { affect: affectModel !== undefined, ...(h.info.origin === 'api' ? { fileRoots: config.files.roots } : {}) });
    const push = this.deps.pushChannels;
    // A pushed frame is bounded by ingest.maxPixels, the pushers' own limit, instead of analysis.maxSourcePixels.
    const withPush = push && spec.kind === 'push' ? { ...resolved, source: { ...resolved.source, pushChannels: push, maxSourcePixels: config.ingest.maxPixels } } : resolved;
    // The stream's packets go past its tap (a recording attaches there, on any run).
    const settings: RunSettings = { ...withPush, source: { ...withPush.source, packetTap: h.tap } };
    // Series exist from the start, so rate() panels show 0 rather than nothing.
    initStreamSeries(this.deps.metrics, h.id);
    const tracks = new OpenTracks(h.id);
    const target = this.target(h, tracks, h.cfg.privacy?.snapshots ?? (spec.kind === 'push' ? 'off' : 'raw'));
    let run: Run | undefined;
    let released: Promise<void> = Promise.resolve();
    const current = (): boolean => run === undefined || h.run === run;
    const subscription = (this.deps.run ?? runStream)(spec, settings, { detector, ...(affectModel ? { affectModel } : {}), baselines: this.baselines }).subscribe({
      next: (record) => {
        if (record.kind === 'started') released = record.released;
        else if (current()) applyRecord(target, record);
      },
      error: (err: unknown) => {
        if (current()) this.fail(h, err);
      },
      complete: () => {
        if (!current()) return;
        this.setState(h, 'ended');
        target.log.info({ frames: h.info.framesDecoded }, 'stream ended');
      },
    });
    run = { subscription, released, tracks };
    // A run that finished while subscribing (a source failing at once) is already stopped.
    h.run = run;
  }

  /** Unsubscribes the run, ends the tracks clients were told about, and waits (bounded) for release. */
  private async stop(h: StreamHandle): Promise<void> {
    const run = h.run;
    if (!run) return;
    h.run = undefined;
    run.subscription.unsubscribe();
    for (const event of run.tracks.closeAll()) this.deps.events.next(event);
    h.info.activeTracks = 0;
    this.deps.metrics.activeTracks.set({ stream: h.id }, 0);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      run.released.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), RELEASE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.log.warn({ streamId: h.id }, 'source still releasing after stop');
  }

  private target(h: StreamHandle, tracks: OpenTracks, privacy: SnapshotPrivacy): RecordTarget {
    return {
      id: h.id,
      info: h.info,
      metrics: this.deps.metrics,
      backend: this.deps.backend,
      log: this.deps.logger.child({ component: 'stream', streamId: h.id }),
      tracks,
      ...(this.deps.snapshots ? { snapshot: this.deps.snapshots.open(h.id, privacy) } : {}),
      setState: (state) => this.setState(h, state),
      publish: (event) => this.deps.events.next(event),
    };
  }

  private fail(h: StreamHandle, err: unknown): void {
    const e = asAnalyticsError(err, ErrorCodes.DECODE);
    // Source errors can quote the URL: never let credentials into the API, events or logs.
    const message = scrubCredentials(e.message);
    h.info.error = { code: e.code, message };
    this.deps.metrics.streamErrors.inc({ stream: h.id, code: e.code });
    this.deps.logger.child({ component: 'stream', streamId: h.id }).error({ err: scrubbedError(e) }, 'stream failed');
    this.setState(h, 'failed');
  }

  private setState(h: StreamHandle, state: Exclude<StreamState, 'removed'>): void {
    h.info.state = state;
    setStreamState(this.deps.metrics, h.id, state);
    this.publishState(h, state);
  }

  private publishState(h: StreamHandle, state: StreamState): void {
    this.deps.events.next({
      type: 'stream',
      streamId: h.id,
      state,
      ...(state === 'failed' && h.info.error ? { error: h.info.error } : {}),
      ts: new Date().toISOString(),
    });
  }
}

/**
 * Which persisted streams a restore brings back (a config stream of the same id wins). Throws
 * ConfigError when they would exceed server.maxStreams: found at boot, before anything starts.
 */
export function restorePlan(
  config: Pick<Config, 'server'>,
  configured: readonly StreamConfig[],
  persisted: readonly StreamConfig[],
  file = '',
): { readonly restored: StreamConfig[]; readonly shadowed: StreamConfig[] } {
  const shadowed = persisted.filter((p) => configured.some((c) => c.id === p.id));
  const restored = persisted.filter((p) => !shadowed.includes(p));
  const max = config.server.maxStreams;
  if (configured.length + restored.length > max) {
    throw new ConfigError([
      `server.maxStreams is ${max}, but ${configured.length} configured and ${restored.length} persisted streams (persistence.file ${file}) would run; raise the limit or delete streams`,
    ]);
  }
  return { restored, shadowed };
}

function zeroCounters(): Pick<StreamInfo, 'framesDecoded' | 'framesAnalysed' | 'framesDropped' | 'activeTracks' | 'reconnects'> {
  return { framesDecoded: 0, framesAnalysed: 0, framesDropped: 0, activeTracks: 0, reconnects: 0 };
}
