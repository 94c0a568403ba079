import { statSync, truncateSync, readFileSync } from 'node:fs';
import type { Subject, Subscription } from 'rxjs';
import type { StreamConfig } from '../config/schema.js';
import { AnalyticsError, ErrorCodes, asAnalyticsError } from '../core/errors.js';
import type { AnalyticsEvent } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { openRecordingFile, parseSourceUrl, probeRecordedVideo, type PacketTap, type RecordingFileOpener } from '../streams/open-source.js';
import { newRecordingId, type RecordingMeta } from './recording-meta.js';
import { RecordingSession, type SessionEnd } from './recording-session.js';
import type { RecordingStore } from './recording-store.js';

export interface RecordingsConfig {
  readonly maxBytes: number;
  readonly maxAgeHours: number;
}

export interface RecordingsDeps {
  readonly store: RecordingStore;
  readonly config: RecordingsConfig;
  readonly streams: { recordable(id: string): { readonly tap: PacketTap; readonly cfg: StreamConfig } | undefined; has(id: string): boolean };
  readonly events: Subject<AnalyticsEvent>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The affect model with its provenance (null: faces only). */
  readonly model: () => Record<string, unknown> | null;
  /** The stream time of a stream's latest analysed frame (for events that carry none). */
  readonly latestPts: (streamId: string) => number | undefined;
  /** The settings that shape a stream's events. */
  readonly settings: (cfg: StreamConfig) => Record<string, unknown>;
  /** The file seam (tests make writes fail); default: exclusive 0600 files. */
  readonly openFile?: RecordingFileOpener;
}

/** Metadata is saved at most this often while recording (and at every start and end). */
const SAVE_EVERY_MS = 1000;
/** How long a stopped recording keeps writing the events of its last frames (they lag the packets). */
const DRAIN_MS = 3000;
const MAX_LABEL = 200;

/**
 * The daemon's recordings: starts and stops them per stream (one at a time each), routes every
 * event of a recorded stream into its recording, keeps the directory within its quota and
 * retention, and at start closes the recordings a killed daemon left open (`interrupted`).
 */
export class Recordings {
  private readonly metas = new Map<string, RecordingMeta>();
  private readonly active = new Map<string, RecordingSession>();
  /** Stopped sessions still writing the events of their video's last frames. */
  private readonly draining = new Set<RecordingSession>();
  private readonly saved = new Map<string, number>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly deps: RecordingsDeps) {
    this.log = deps.logger.child({ component: 'recordings' });
    for (const reason of ['quota', 'age'] as const) deps.metrics.recordingsRemoved.inc({ reason }, 0);
    deps.metrics.recordingsActive.set(0);
  }

  /** Lists what is on disk, closes interrupted recordings, applies retention, then follows the events. */
  async open(): Promise<void> {
    const { recordings, bad } = this.deps.store.list();
    for (const b of bad) this.log.warn({ recording: b.name, why: b.why }, 'recording directory without readable metadata: left alone');
    for (const meta of recordings) {
      const closed = meta.state === 'waiting' || meta.state === 'recording' ? await this.closeInterrupted(meta) : meta;
      this.metas.set(meta.id, closed);
    }
    this.applyRetention();
    this.subscription = this.deps.events.subscribe((e) => this.onEvent(e));
    // Retention is checked often enough that nothing outlives its age by more than a quarter of it (at most a minute).
    const ageMs = this.deps.config.maxAgeHours * 3_600_000;
    this.timer = setInterval(() => this.tick(), Math.max(250, Math.min(60_000, ageMs / 4)));
    this.timer.unref();
    this.updateGauges();
  }

  start(streamId: string, opts: { readonly maxSeconds?: number; readonly label?: string }): RecordingMeta {
    if (this.closed) throw new AnalyticsError(ErrorCodes.INTERNAL, 'the daemon is shutting down');
    const stream = this.deps.streams.recordable(streamId);
    if (!stream) throw new AnalyticsError(ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(streamId)}`);
    const running = this.active.get(streamId);
    if (running) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${streamId} is being recorded already (${running.meta.id}); stop that recording first`);
    for (const s of this.draining) if (s.meta.streamId === streamId) s.cutVideo();
    if (stream.tap.attached) throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${streamId} is being recorded already`);
    // The video is recorded as received, packet by packet: a source that receives no packets (the
    // demo scene is drawn by a filter graph, a push stream gets decoded JPEG frames) would leave
    // the recording waiting for ever.
    const { kind } = parseSourceUrl(stream.cfg.url);
    if (kind === 'demo' || kind === 'push') {
      throw new AnalyticsError(ErrorCodes.CONFLICT, `stream ${streamId} is a ${kind}: source, which cannot be recorded: recordings keep the video as received (packets), and it receives none`);
    }
    if (opts.label !== undefined && opts.label.length > MAX_LABEL) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `label: at most ${MAX_LABEL} characters`, { context: { field: 'label' } });
    this.applyQuota(0);
    const { store } = this.deps;
    const meta: RecordingMeta = {
      version: 1,
      id: newRecordingId(),
      streamId,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      state: 'waiting',
      requestedAt: new Date().toISOString(),
      ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
      frames: 0,
      durationSeconds: 0,
      videoBytes: 0,
      eventsBytes: 0,
      events: 0,
      markers: 0,
      container: 'mp4',
      model: this.deps.model(),
      config: this.deps.settings(stream.cfg),
    };
    try {
      store.create(meta);
    } catch (err) {
      throw this.writeError(err, 'could not be created');
    }
    let session: RecordingSession;
    try {
      session = new RecordingSession(meta, stream.tap, { video: store.videoPath(meta.id)!, events: store.eventsPath(meta.id)!, open: this.deps.openFile ?? openRecordingFile }, {
        onChange: () => this.persist(meta.id),
        onEnd: (end) => this.onSessionEnd(streamId, session, end),
      });
    } catch (err) {
      store.remove(meta.id);
      throw this.writeError(err, 'could not be started');
    }
    this.metas.set(meta.id, meta);
    this.active.set(streamId, session);
    this.log.info({ recording: meta.id, streamId, maxSeconds: opts.maxSeconds }, 'recording requested');
    this.updateGauges();
    return this.view(meta.id)!;
  }

  /** Stops a recording (a finished one is returned as it is); undefined if unknown. */
  stop(id: string): RecordingMeta | undefined {
    const meta = this.metas.get(id);
    if (!meta) return undefined;
    const session = this.active.get(meta.streamId);
    if (session?.meta.id === id) this.finish(meta.streamId, session, { reason: 'stopped' }, true);
    return this.view(id);
  }

  list(): RecordingMeta[] {
    return [...this.metas.keys()].sort().map((id) => this.view(id)!);
  }

  get(id: string): RecordingMeta | undefined {
    return this.view(id);
  }

  /** Files of a recording to serve; undefined if unknown. */
  files(id: string): { readonly video: string; readonly events: string; readonly meta: RecordingMeta } | undefined {
    const meta = this.view(id);
    const video = this.deps.store.videoPath(id);
    const events = this.deps.store.eventsPath(id);
    return meta && video && events ? { video, events, meta } : undefined;
  }

  /** Deletes a recording (stopping it first if it runs); false if unknown. */
  remove(id: string): boolean {
    const meta = this.metas.get(id);
    if (!meta) return false;
    const session = this.active.get(meta.streamId);
    if (session?.meta.id === id) this.finish(meta.streamId, session, { reason: 'stopped' });
    for (const s of [...this.draining]) if (s.meta.id === id) s.end(), this.draining.delete(s);
    this.metas.delete(id);
    this.deps.store.remove(id);
    this.updateGauges();
    return true;
  }

  /** The recording a stream's events go to now, if any. */
  recordingOf(streamId: string): string | undefined {
    return this.active.get(streamId)?.meta.id;
  }

  /** Stops every recording (they end `finished`, reason `shutdown`). */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    for (const [streamId, session] of [...this.active]) this.finish(streamId, session, { reason: 'shutdown' });
    for (const s of [...this.draining]) {
      s.end();
      this.draining.delete(s);
      this.settle(s);
    }
  }

  private onEvent(e: AnalyticsEvent): void {
    const line = e as unknown as Parameters<RecordingSession['record']>[0];
    for (const s of this.draining) if (s.meta.streamId === e.streamId) s.record(line, this.deps.latestPts(e.streamId));
    const session = this.active.get(e.streamId);
    if (!session) return;
    session.record(line, this.deps.latestPts(e.streamId));
    if (e.type === 'stream' && (e.state === 'removed' || e.state === 'ended' || e.state === 'failed')) {
      this.finish(e.streamId, session, { reason: e.state === 'removed' ? 'stream-removed' : 'stream-ended' });
    }
  }

  /**
   * Ends a session: at once (shutdown, stream gone, write failure), or with `drain` (stop, max
   * seconds, quota): the video ends now and the events of its last frames, still being analysed,
   * are written for a moment more. The metadata is final at once and updated once drained.
   */
  private finish(streamId: string, session: RecordingSession, end: SessionEnd, drain = false): void {
    if (this.active.get(streamId) !== session) return;
    this.active.delete(streamId);
    if (drain) {
      this.draining.add(session);
      session.endAfterDrain(DRAIN_MS, () => {
        this.draining.delete(session);
        this.settle(session);
      });
      if (!session.draining) this.draining.delete(session);
      return this.ended(streamId, session, end);
    }
    const err = session.end();
    this.ended(streamId, session, err ? { reason: 'write-failed', error: err } : end);
  }

  /** A session's own end (write failure, source change: already released) or its max seconds (ended here). */
  private onSessionEnd(streamId: string, session: RecordingSession, end: SessionEnd): void {
    if (end.reason === 'max-seconds') return this.finish(streamId, session, end, true);
    if (this.active.get(streamId) !== session) return;
    this.active.delete(streamId);
    this.ended(streamId, session, end);
  }

  private ended(streamId: string, session: RecordingSession, end: SessionEnd): void {
    const meta = this.snapshot(session);
    const failed = end.reason === 'write-failed';
    const final: RecordingMeta = {
      ...meta,
      state: failed ? 'failed' : 'finished',
      endReason: end.reason,
      endedAt: new Date().toISOString(),
      ...('error' in end ? { error: { code: failed ? ErrorCodes.RECORDING : ErrorCodes.DECODE, message: describeWriteError(end.error) } } : {}),
    };
    this.metas.set(meta.id, final);
    this.save(final);
    const log = { recording: meta.id, streamId, reason: end.reason, frames: final.frames, seconds: final.durationSeconds };
    if (failed) this.log.error({ ...log, error: final.error }, 'recording failed; the stream goes on');
    else this.log.info(log, 'recording finished');
    // Its last bytes may have taken the directory over the quota (one stopped by the quota stays until room is needed).
    if (end.reason !== 'quota') this.applyQuota(0);
    else this.updateGauges();
  }

  /** A drained session's final event figures. */
  private settle(session: RecordingSession): void {
    const meta = this.metas.get(session.meta.id);
    if (!meta) return; // deleted meanwhile
    const p = session.progress;
    // The video ended a frame or two after the stop (whole frames), and its last events came since.
    const final = { ...meta, frames: p.frames, durationSeconds: round3(p.seconds), videoBytes: p.bytes, eventsBytes: session.eventsBytes, events: session.eventCount, markers: session.markers };
    this.metas.set(meta.id, final);
    this.save(final);
  }

  private save(meta: RecordingMeta): void {
    try {
      this.deps.store.save(meta);
    } catch (err) {
      this.log.error({ err, recording: meta.id }, 'recording metadata could not be saved');
    }
  }

  /** The metadata with a running recording's live figures. */
  private view(id: string): RecordingMeta | undefined {
    const meta = this.metas.get(id);
    if (!meta) return undefined;
    const session = this.active.get(meta.streamId);
    return session?.meta.id === id ? this.snapshot(session) : meta;
  }

  private snapshot(session: RecordingSession): RecordingMeta {
    const base = this.metas.get(session.meta.id) ?? session.meta;
    const start = session.start;
    const p = session.progress;
    return {
      ...base,
      state: start ? 'recording' : 'waiting',
      ...(start ? { start, startedAt: base.startedAt ?? new Date().toISOString() } : {}),
      frames: p.frames,
      durationSeconds: round3(p.seconds),
      videoBytes: p.bytes,
      eventsBytes: session.eventsBytes,
      events: session.eventCount,
      markers: session.markers,
    };
  }

  private persist(id: string, force = false): void {
    const session = [...this.active.values()].find((s) => s.meta.id === id);
    if (!session) return;
    const now = Date.now();
    const snap = this.snapshot(session);
    const first = this.metas.get(id)?.startedAt === undefined && snap.startedAt !== undefined;
    if (!force && !first && now - (this.saved.get(id) ?? 0) < SAVE_EVERY_MS) return;
    this.saved.set(id, now);
    this.metas.set(id, snap);
    try {
      this.deps.store.save(snap);
    } catch (err) {
      return this.finish(snap.streamId, session, { reason: 'write-failed', error: err as Error });
    }
    // A growing recording is what fills the directory: the quota is checked as often as it is saved
    // (after the packet write that got here has returned).
    queueMicrotask(() => this.applyQuota(0));
  }

  private tick(): void {
    this.applyRetention();
  }

  /**
   * Over recordings.maxBytes, finished recordings go, oldest first (by their end); if the running
   * ones alone are over it, they are stopped (`endReason: quota`) and go next time room is needed.
   */
  private applyQuota(extra: number): void {
    const max = this.deps.config.maxBytes;
    const sizes = new Map([...this.metas.keys()].map((id) => [id, this.deps.store.bytesOf(id)]));
    let total = extra + [...sizes.values()].reduce((a, b) => a + b, 0);
    if (total <= max) return this.updateGauges(total);
    const running = new Set([...this.active.values()].map((s) => s.meta.id));
    const finished = [...this.metas.values()].filter((m) => !running.has(m.id)).sort((a, b) => (a.endedAt ?? a.requestedAt).localeCompare(b.endedAt ?? b.requestedAt));
    for (const m of finished) {
      if (total <= max) break;
      total -= sizes.get(m.id) ?? 0;
      this.removeFor(m.id, 'quota');
    }
    if (total > max) for (const [streamId, session] of [...this.active]) this.finish(streamId, session, { reason: 'quota' }, true);
    this.updateGauges();
  }

  /** Finished recordings older than recordings.maxAgeHours (by their end) are removed. */
  private applyRetention(): void {
    const cutoff = Date.now() - this.deps.config.maxAgeHours * 3_600_000;
    const running = new Set([...this.active.values()].map((s) => s.meta.id));
    for (const m of [...this.metas.values()]) {
      if (running.has(m.id)) continue;
      if (Date.parse(m.endedAt ?? m.requestedAt) < cutoff) this.removeFor(m.id, 'age');
    }
  }

  private removeFor(id: string, reason: 'quota' | 'age'): void {
    this.metas.delete(id);
    this.deps.store.remove(id);
    this.deps.metrics.recordingsRemoved.inc({ reason });
    this.log.info({ recording: id, reason }, reason === 'quota' ? 'recording removed: over recordings.maxBytes' : 'recording removed: older than recordings.maxAgeHours');
  }

  private updateGauges(total?: number): void {
    this.deps.metrics.recordingsActive.set(this.active.size);
    this.deps.metrics.recordingsBytes.set(total ?? [...this.metas.keys()].reduce((a, id) => a + this.deps.store.bytesOf(id), 0));
  }

  /** Closes a recording a killed daemon left open: what its files hold is what it recorded. */
  private async closeInterrupted(meta: RecordingMeta): Promise<RecordingMeta> {
    const { store } = this.deps;
    const video = store.videoPath(meta.id)!;
    const events = store.eventsPath(meta.id)!;
    let figures: Partial<RecordingMeta> = { frames: 0, durationSeconds: 0, videoBytes: 0 };
    let endedAt = meta.requestedAt;
    try {
      const st = statSync(video);
      endedAt = st.mtime.toISOString();
      const v = await probeRecordedVideo(video);
      // A fragment cut off mid-write is dropped: the file ends with its last whole frame.
      if (v.endOffset > 0 && v.endOffset < st.size) truncateSync(video, v.endOffset);
      figures = { frames: v.frames, durationSeconds: round3(v.durationSeconds), videoBytes: v.endOffset > 0 ? Math.min(v.endOffset, st.size) : st.size, codec: v.codec, width: v.width, height: v.height };
    } catch (err) {
      this.log.warn({ recording: meta.id, err: asAnalyticsError(err) }, 'interrupted recording: no readable video');
    }
    const lines = closeEventsFile(events);
    const closed: RecordingMeta = { ...meta, ...figures, ...lines, state: 'interrupted', endReason: 'daemon-killed', endedAt };
    try {
      store.save(closed);
    } catch (err) {
      this.log.error({ err, recording: meta.id }, 'interrupted recording: metadata could not be saved');
    }
    this.log.warn({ recording: meta.id, streamId: meta.streamId, frames: closed.frames }, 'recording was interrupted (the daemon stopped without closing it); closed');
    return closed;
  }

  private writeError(err: unknown, what: string): AnalyticsError {
    return new AnalyticsError(ErrorCodes.RECORDING, `the recording ${what}: ${describeWriteError(err as Error)}`, { cause: err });
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function describeWriteError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return 'the disk is full (ENOSPC)';
  if (code === 'EFBIG') return 'the file size limit was reached (EFBIG)';
  if (code === 'EDQUOT') return 'the disk quota is exhausted (EDQUOT)';
  return code ? `${err.message} (${code})` : err.message;
}

/** Drops a line cut off mid-write; counts the lines and markers that remain. */
function closeEventsFile(file: string): Pick<RecordingMeta, 'events' | 'markers' | 'eventsBytes'> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { events: 0, markers: 0, eventsBytes: 0 };
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  const lines = text.slice(0, end).split('\n').filter((l) => l.length > 0);
  const markers = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { event?: { type?: unknown } }).event?.type === 'marker';
    } catch {
      return false;
    }
  }).length;
  return { events: lines.length, markers, eventsBytes: Buffer.byteLength(text.slice(0, end)) };
}
