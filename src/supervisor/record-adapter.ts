import type { StreamId } from '../core/ids.js';
import type { AffectEvent, AnalyticsEvent, StreamState } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OpenTracks } from '../pipeline/open-tracks.js';
import { captureSnapshot, type SnapshotSink } from '../pipeline/snapshot-tap.js';
import type { StreamRecord } from '../pipeline/run-stream.js';
import type { StreamInfo } from './stream-info.js';

/** What one run's records update: the stream's API view, its metrics, its state and its events. */
export interface RecordTarget {
  readonly id: StreamId;
  readonly info: { -readonly [K in keyof StreamInfo]: StreamInfo[K] };
  readonly metrics: Metrics;
  readonly backend: string;
  readonly log: Logger;
  /** Tracks this run told clients about, so whoever stops it can end them. */
  readonly tracks: OpenTracks;
  /** Where the latest analysed frame goes for `snapshot.jpg` (copied only when one is due). */
  readonly snapshot?: SnapshotSink;
  setState(state: Exclude<StreamState, 'removed'>): void;
  publish(event: AnalyticsEvent): void;
}

/** The one place a run's records become metrics, `StreamInfo` and state events. */
export function applyRecord(t: RecordTarget, record: StreamRecord): void {
  const labels = { stream: t.id };
  const { info, metrics } = t;
  switch (record.kind) {
    case 'started':
      return;
    case 'tracked':
      // Synchronous, before the frame's pixels move on: the copy is taken here or never.
      if (t.snapshot) captureSnapshot(t.snapshot, record.record);
      return;
    case 'running':
      info.kind = record.sourceKind;
      info.width = record.sourceWidth;
      info.height = record.sourceHeight;
      t.setState('running');
      t.log.info({ width: record.sourceWidth, height: record.sourceHeight, kind: record.sourceKind }, 'stream running');
      return;
    case 'decoded':
      info.framesDecoded++;
      metrics.framesDecoded.inc(labels);
      metrics.decodeDuration.observe(labels, record.decodeSeconds);
      return;
    case 'decoder': {
      const { fallback, ...used } = record.decoder;
      info.decoder = record.decoder;
      if (fallback) {
        metrics.decodeHwaccelFallback.inc({ stream: t.id, reason: fallback.reason });
        t.log.warn({ ...used, reason: fallback.reason, why: fallback.message }, 'hardware decoding unavailable, decoding in software');
      } else t.log.info(used, 'decoder opened');
      return;
    }
    case 'decode-error':
      metrics.decodeErrors.inc(labels);
      t.log.debug({ err: { ...record.error } }, 'undecodable packet skipped');
      return;
    case 'skipped':
      metrics.framesSkipped.inc(labels);
      return;
    case 'analysed':
      info.framesAnalysed++;
      metrics.framesAnalysed.inc(labels);
      metrics.detectDuration.observe({ stream: t.id, backend: t.backend }, record.detectMs / 1000);
      metrics.facesPerFrame.observe(labels, record.faces);
      t.log.trace({ frameSeq: record.frameSeq, faces: record.faces, durationMs: record.detectMs }, 'frame analysed');
      return;
    case 'dropped':
      if (record.stage === 'detect') {
        info.framesDropped += record.count;
        metrics.framesDropped.inc(labels, record.count);
      } else (record.stage === 'affect-window' ? metrics.windowsDropped : metrics.affectFramesDropped).inc(labels, record.count);
      return;
    case 'reconnecting':
      metrics.streamReconnects.inc(labels);
      info.reconnects++;
      info.error = record.error;
      t.log.warn({ attempt: record.attempt, delayMs: record.delayMs, err: { ...record.error } }, 'source lost, reconnecting');
      if (info.state !== 'reconnecting') t.setState('reconnecting');
      return;
    case 'recovered':
      t.log.info({ attempts: record.attempts }, 'source recovered');
      delete info.error;
      t.setState('running');
      return;
    case 'tracks':
      info.activeTracks = record.active;
      metrics.activeTracks.set(labels, record.active);
      return;
    case 'event': {
      const event = record.event;
      t.tracks.observe(event);
      if (event.type === 'track' && event.state === 'started') metrics.tracksStarted.inc(labels);
      if (event.type === 'affect') {
        metrics.affectEvents.inc(labels);
        metrics.endToEndLatency.observe(labels, event.latencyMs / 1000);
        observeTrust(metrics, t.id, event);
      }
      if (event.type === 'faces') for (const f of event.faces) for (const reason of f.quality.gated) metrics.facesGated.inc({ stream: t.id, reason });
      if (event.type === 'blink') metrics.blinks.inc(labels);
      t.publish(event);
      return;
    }
  }
}

const mean = (o: Readonly<Record<string, number>>): number => {
  const v = Object.values(o);
  return v.reduce((a, b) => a + b, 0) / v.length;
};

/** An affect event's baseline state and uncertainty, per stream (docs/events.md: never per track). */
function observeTrust(metrics: Metrics, stream: string, event: AffectEvent): void {
  if (event.baseline) metrics.affectBaselineFrames.inc({ stream, state: event.baseline.state });
  const u = metrics.affectUncertainty;
  u.observe({ stream, measure: 'expr_entropy' }, event.expr.entropy);
  if (event.expr.agreement !== undefined) u.observe({ stream, measure: 'expr_agreement' }, event.expr.agreement);
  if (event.au?.spread) u.observe({ stream, measure: 'au_spread' }, mean(event.au.spread));
  if (event.va?.std) u.observe({ stream, measure: 'va_std' }, (event.va.std.valence + event.va.std.arousal) / 2);
}
