import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GATE_REASONS } from '../core/face-measures.js';
import type { StreamState } from '../core/records.js';
import { MetricNames as N } from './metric-names.js';
import { BASELINE_STATES } from '../core/event-schemas.js';

/** The `measure` label of va_affect_uncertainty. */
export const UNCERTAINTY_MEASURES = ['expr_entropy', 'expr_agreement', 'au_spread', 'va_std'] as const;

/** prom-client defaults that are gauges despite their _total suffix. */
const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

export const STREAM_STATES: readonly StreamState[] = ['starting', 'running', 'reconnecting', 'ended', 'failed'];

/** All metric definitions, on an injected registry (never the global one). */
/** A broker sink's state as the metrics read it at scrape time. */
export interface SinkProbe {
  readonly name: string;
  readonly kind: string;
  readonly connected: boolean;
  readonly buffered: number;
  readonly lagSeconds: number;
}

export function createMetrics(
  registry: Registry = new Registry(),
  probes: {
    readonly tensorCount?: () => number | Promise<number>;
    readonly sinks?: () => readonly SinkProbe[];
    readonly cluster?: () => { readonly members: number; readonly owned: number } | undefined;
  } = {},
) {
  // Includes nodejs_eventloop_lag_seconds and process memory.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  // Gauges named *_total break the exposition conventions (promtool check metrics fails);
  // nodejs_active_handles / _requests / _resources (by type) carry the same figures.
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  const streamLabel = ['stream'] as const;
  return {
    registry,
    framesDecoded: new Counter({ name: N.framesDecoded, help: 'Frames decoded and converted for analysis per stream (analysisFps skips count in va_frames_skipped_total)', labelNames: streamLabel, registers: [registry] }),
    framesAnalysed: new Counter({ name: N.framesAnalysed, help: 'Frames that went through face analysis', labelNames: streamLabel, registers: [registry] }),
    framesDropped: new Counter({
      name: N.framesDropped,
      help: 'Frames dropped before analysis because analysis fell behind a real-time source',
      labelNames: streamLabel,
      registers: [registry],
    }),
    decodeDuration: new Histogram({
      name: N.decodeDuration,
      help: 'Demux + decode + scale time per frame',
      labelNames: streamLabel,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    detectDuration: new Histogram({
      name: N.detectDuration,
      help: 'Face detection + landmark time per frame',
      labelNames: ['stream', 'backend'],
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1],
      registers: [registry],
    }),
    facesPerFrame: new Histogram({
      name: N.facesPerFrame,
      help: 'Faces found per analysed frame',
      labelNames: streamLabel,
      buckets: [0, 1, 2, 3, 5, 8, 13, 20],
      registers: [registry],
    }),
    activeTracks: new Gauge({ name: N.activeTracks, help: 'Face tracks alive per stream', labelNames: streamLabel, registers: [registry] }),
    tracksStarted: new Counter({ name: N.tracksStarted, help: 'Face tracks started', labelNames: streamLabel, registers: [registry] }),
    streamState: new Gauge({
      name: N.streamState,
      help: '1 for the current state of each stream, 0 for the others',
      labelNames: ['stream', 'state'],
      registers: [registry],
    }),
    streamErrors: new Counter({ name: N.streamErrors, help: 'Stream failures by error code', labelNames: ['stream', 'code'], registers: [registry] }),
    backendInfo: new Gauge({ name: N.backendInfo, help: 'TF.js backend in use (value 1)', labelNames: ['backend'], registers: [registry] }),
    modelPlacementInfo: new Gauge({
      name: N.modelPlacementInfo,
      help: 'Where each model runs (value 1): engine, execution provider (or TF.js backend) and device',
      labelNames: ['model', 'engine', 'provider', 'device'],
      registers: [registry],
    }),
    wsClients: new Gauge({ name: N.wsClients, help: 'Connected WebSocket clients', registers: [registry] }),
    wsMessagesSent: new Counter({ name: N.wsMessagesSent, help: 'WebSocket messages sent', labelNames: ['type'], registers: [registry] }),
    wsMessagesDropped: new Counter({
      name: N.wsMessagesDropped,
      help: 'WebSocket messages dropped because a client fell behind',
      registers: [registry],
    }),
    ingestClients: new Gauge({ name: N.ingestClients, help: 'Clients pushing frames to /v1/ingest/{id}', registers: [registry] }),
    ingestFramesRefused: new Counter({
      name: N.ingestFramesRefused,
      help: 'Pushed frames not analysed, by reason: rate (over ingest.maxFps), busy (a newer frame replaced it before decoding), undecodable, too_large (over ingest.maxPixels)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    recordingsActive: new Gauge({ name: N.recordingsActive, help: 'Recordings running (waiting for a keyframe or recording)', registers: [registry] }),
    recordingsBytes: new Gauge({ name: N.recordingsBytes, help: 'Bytes the recordings take in recordings.dir', registers: [registry] }),
    recordingsRemoved: new Counter({
      name: N.recordingsRemoved,
      help: 'Recordings removed by the daemon, by reason: quota (over recordings.maxBytes, oldest first), age (older than recordings.maxAgeHours)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inferenceDuration: new Histogram({
      name: N.inferenceDuration,
      help: 'Affect model time per batch (cnn: backbone + heads of every member; gru: GRU heads)',
      labelNames: ['model', 'backend', 'stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inferenceBatchSize: new Histogram({
      name: N.inferenceBatchSize,
      help: 'Requests per affect inference batch',
      labelNames: ['model', 'backend', 'stage'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    inferenceQueueDepth: new Gauge({ name: N.inferenceQueueDepth, help: 'Requests waiting for affect inference', labelNames: ['stage'], registers: [registry] }),
    modelHostUp: new Gauge({ name: N.modelHostUp, help: 'Whether a model host (face-detector, affect) can serve: 0 while its crashed worker restarts', labelNames: ['host'], registers: [registry] }),
    modelHostRestarts: new Counter({ name: N.modelHostRestarts, help: 'Model worker threads restarted after a crash', labelNames: ['host'], registers: [registry] }),
    windowsDropped: new Counter({
      name: N.windowsDropped,
      help: 'CNN-RNN windows dropped because the inference queue was full',
      labelNames: streamLabel,
      registers: [registry],
    }),
    affectFramesDropped: new Counter({
      name: N.affectFramesDropped,
      help: 'Face frames whose affect analysis was dropped under load',
      labelNames: streamLabel,
      registers: [registry],
    }),
    endToEndLatency: new Histogram({
      name: N.endToEndLatency,
      help: 'From a frame leaving the decoder to its affect event being published',
      labelNames: streamLabel,
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers: [registry],
    }),
    affectEvents: new Counter({ name: N.affectEvents, help: 'Affect events published', labelNames: streamLabel, registers: [registry] }),
    affectBaselineFrames: new Counter({
      name: N.affectBaselineFrames,
      help: "Affect events by their track's baseline state (none: no baseline yet; running; calibrating; calibrated), per stream",
      labelNames: ['stream', 'state'],
      registers: [registry],
    }),
    affectUncertainty: new Histogram({
      name: N.affectUncertainty,
      help: 'Uncertainty of affect events, per stream: expr_entropy (normalised), expr_agreement (members voting the label), au_spread (mean over AUs of the members\' std), va_std (mean of valence and arousal std)',
      labelNames: ['stream', 'measure'],
      buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1],
      registers: [registry],
    }),
    facesGated: new Counter({
      name: N.facesGated,
      help: 'Faces kept out of affect analysis by the quality thresholds, per stream and reason (score, size, sharpness, yaw, pitch; a face failing two counts under both)',
      labelNames: ['stream', 'reason'],
      registers: [registry],
    }),
    blinks: new Counter({ name: N.blinks, help: 'Blink events published (eye closure from the face mesh, not a trained AU45 detector)', labelNames: streamLabel, registers: [registry] }),
    streamReconnects: new Counter({
      name: N.streamReconnects,
      help: 'Reconnect attempts of live sources (after a failure, an end or a stall)',
      labelNames: streamLabel,
      registers: [registry],
    }),
    decodeErrors: new Counter({
      name: N.decodeErrors,
      help: 'Packets skipped because they could not be decoded (a source fails after analysis.maxConsecutiveDecodeErrors in a row)',
      labelNames: streamLabel,
      registers: [registry],
    }),
    decodeHwaccelFallback: new Counter({
      name: N.decodeHwaccelFallback,
      help: 'Source opens that asked for hardware decoding (analysis.hwaccel) and decode in software, by reason',
      labelNames: ['stream', 'reason'],
      registers: [registry],
    }),
    framesSkipped: new Counter({
      name: N.framesSkipped,
      help: 'Frames decoded but not analysed because of the per-stream analysis rate (dropped before any conversion)',
      labelNames: streamLabel,
      registers: [registry],
    }),
    sinkMessages: new Counter({ name: N.sinkMessages, help: 'Events a broker acknowledged, per sink', labelNames: ['sink', 'kind'], registers: [registry] }),
    sinkDropped: new Counter({
      name: N.sinkDropped,
      help: 'Events a sink dropped: its buffer overflowed while the broker was slow or away, or they were still buffered at shutdown',
      labelNames: ['sink', 'kind', 'reason'],
      registers: [registry],
    }),
    sinkLag: new Gauge({
      name: N.sinkLag,
      help: 'Age of the oldest event a sink holds that its broker has not acknowledged (0 when none)',
      labelNames: ['sink', 'kind'],
      registers: [registry],
      collect() {
        for (const s of probes.sinks?.() ?? []) this.set({ sink: s.name, kind: s.kind }, s.lagSeconds);
      },
    }),
    sinkConnected: new Gauge({
      name: N.sinkConnected,
      help: '1 while a sink is connected to its broker, else 0',
      labelNames: ['sink', 'kind'],
      registers: [registry],
      collect() {
        for (const s of probes.sinks?.() ?? []) this.set({ sink: s.name, kind: s.kind }, s.connected ? 1 : 0);
      },
    }),
    sinkBuffered: new Gauge({
      name: N.sinkBuffered,
      help: 'Events a sink holds (queued or awaiting acknowledgement)',
      labelNames: ['sink', 'kind'],
      registers: [registry],
      collect() {
        for (const s of probes.sinks?.() ?? []) this.set({ sink: s.name, kind: s.kind }, s.buffered);
      },
    }),
    clusterMembers: new Gauge({
      name: N.clusterMembers,
      help: 'Live daemons in this cluster as this instance sees them (absent outside a cluster)',
      registers: [registry],
      collect() {
        const c = probes.cluster?.();
        if (c) this.set(c.members);
      },
    }),
    clusterStreamsOwned: new Gauge({
      name: N.clusterStreamsOwned,
      help: 'Cluster streams whose lease this instance holds',
      registers: [registry],
      collect() {
        const c = probes.cluster?.();
        if (c) this.set(c.owned);
      },
    }),
    clusterLeaseChanges: new Counter({
      name: N.clusterLeaseChanges,
      help: 'Stream leases acquired, released (handed over), lost, or given up because the lease store was unreachable',
      labelNames: ['reason'],
      registers: [registry],
    }),
    controlCommandsRefused: new Counter({
      name: N.controlCommandsRefused,
      help: 'Stream commands refused before they ran, by source (http, mqtt, nats) and reason (unauthorised, forbidden, too-large, malformed, invalid, source-forbidden, limit)',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    tensorsAlive: new Gauge({
      name: N.tensorsAlive,
      help: 'TF.js tensors allocated (daemon thread plus model worker threads)',
      registers: [registry],
      async collect() {
        if (probes.tensorCount) this.set(await probes.tensorCount());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function setStreamState(m: Metrics, stream: string, state: StreamState): void {
  for (const s of STREAM_STATES) m.streamState.set({ stream, state: s }, s === state ? 1 : 0);
}

/**
 * Exports a new stream's counters at 0 right away: a counter that appears only on its first
 * increment has no earlier sample, so rate() and increase() miss that increment and dashboards show
 * "no data" instead of 0 for streams that never drop or shed.
 */
export function initStreamSeries(m: Metrics, stream: string): void {
  for (const c of [m.framesDecoded, m.framesAnalysed, m.framesDropped, m.framesSkipped, m.streamReconnects, m.tracksStarted, m.windowsDropped, m.affectFramesDropped, m.affectEvents, m.blinks]) {
    c.inc({ stream }, 0);
  }
  for (const reason of GATE_REASONS) m.facesGated.inc({ stream, reason }, 0);
  for (const state of BASELINE_STATES) m.affectBaselineFrames.inc({ stream, state }, 0);
}

/** Removes a deleted stream's series so /metrics does not keep dead labels forever. */
export function forgetStream(m: Metrics, stream: string): void {
  for (const metric of [
    m.framesDecoded,
    m.framesAnalysed,
    m.framesDropped,
    m.framesSkipped,
    m.decodeErrors,
    m.streamReconnects,
    m.decodeDuration,
    m.facesPerFrame,
    m.activeTracks,
    m.tracksStarted,
    m.windowsDropped,
    m.affectFramesDropped,
    m.endToEndLatency,
    m.affectEvents,
    m.blinks,
  ]) {
    metric.remove({ stream });
  }
  for (const reason of GATE_REASONS) m.facesGated.remove({ stream, reason });
  for (const state of BASELINE_STATES) m.affectBaselineFrames.remove({ stream, state });
  for (const measure of UNCERTAINTY_MEASURES) m.affectUncertainty.remove({ stream, measure });
  for (const s of STREAM_STATES) m.streamState.remove({ stream, state: s });
}
