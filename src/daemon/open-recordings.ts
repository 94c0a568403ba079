import type { Subject } from 'rxjs';
import type { Config, StreamConfig } from '../config/schema.js';
import type { AnalyticsEvent } from '../core/records.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { Markers } from '../recordings/markers.js';
import { RecordingStore } from '../recordings/recording-store.js';
import { Recordings } from '../recordings/recordings.js';
import { redactUrl, type RecordingFileOpener } from '../streams/open-source.js';
import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';
import type { DaemonModels } from './load-models.js';

export interface RecordingParts {
  readonly markers: Markers;
  /** Absent when recordings are off (recordings.dir null). */
  readonly recordings?: Recordings;
}

/**
 * Markers always; recordings when recordings.dir is set: the directory is checked (a configuration
 * error if unusable), recordings a killed daemon left open are closed as `interrupted`, and old
 * ones removed, before any stream starts.
 */
export async function openRecordings(
  config: Config,
  deps: {
    readonly events: Subject<AnalyticsEvent>;
    readonly supervisor: Pick<StreamSupervisor, 'has' | 'recordable'>;
    readonly metrics: Metrics;
    readonly logger: Logger;
    readonly models: () => DaemonModels | undefined;
    readonly openFile?: RecordingFileOpener;
  },
): Promise<RecordingParts> {
  let recordings: Recordings | undefined;
  const markers = new Markers(deps.events, deps.supervisor, (id) => recordings?.recordingOf(id));
  const { dir, maxBytes, maxAgeHours } = config.recordings;
  if (dir === null) return { markers };
  const store = new RecordingStore(dir);
  try {
    store.init();
  } catch (err) {
    markers.close();
    throw err;
  }
  recordings = new Recordings({
    store,
    config: { maxBytes, maxAgeHours },
    streams: deps.supervisor,
    events: deps.events,
    metrics: deps.metrics,
    logger: deps.logger,
    latestPts: (id) => markers.latestPts(id),
    model: () => {
      const m = deps.models()?.affectModel;
      return m ? { id: m.id, version: m.version, kind: m.kind, seqLen: m.seqLen, au: m.providesAuVa, va: m.providesAuVa, provenance: m.manifest.provenance } : null;
    },
    settings: (cfg) => shapingSettings(config, cfg),
    ...(deps.openFile ? { openFile: deps.openFile } : {}),
  });
  await recordings.open();
  return { markers, recordings };
}

/** What shaped a stream's events: its own settings (URL without credentials) and the daemon's analysis keys. */
function shapingSettings(config: Config, cfg: StreamConfig): Record<string, unknown> {
  return {
    stream: { ...cfg, url: redactUrl(cfg.url) },
    analysis: config.analysis,
    detector: config.detector,
    alignment: config.alignment,
    tracker: config.tracker,
    model: config.model,
    backend: config.backend,
  };
}

export function closeRecordings(parts: RecordingParts | undefined): void {
  parts?.recordings?.close();
  parts?.markers.close();
}
