import type { Config, StreamConfig } from '../config/schema.js';
import type { StreamId } from '../core/ids.js';
import type { RunSettings } from '../pipeline/run-stream.js';
import { resolveGate } from '../pipeline/quality/gate.js';

/** A daemon stream's run settings: the stream's own keys over the daemon's config. */
export function runSettings(config: Config, cfg: StreamConfig, id: StreamId, opts: { readonly fileRoots?: readonly string[]; readonly affect: boolean }): RunSettings {
  const analysisFps = cfg.analysisFps ?? config.analysis.analysisFps ?? undefined;
  return {
    streamId: id,
    realtime: cfg.realtime,
    loop: cfg.loop,
    maxWidth: config.analysis.maxWidth,
    ...(analysisFps !== undefined ? { analysisFps } : {}),
    queueFrames: config.analysis.queueFrames,
    alignSize: config.alignment.size,
    quality: resolveGate(config.quality, cfg.quality),
    tracker: config.tracker,
    detector: config.detector,
    rtsp: {
      transport: cfg.transport ?? config.rtsp.transport,
      timeoutMs: config.rtsp.timeoutMs,
      reconnect: { ...config.rtsp.reconnect, stallTimeoutMs: config.rtsp.stallTimeoutMs },
    },
    ...(opts.fileRoots ? { fileRoots: opts.fileRoots } : {}),
    source: {
      maxSourcePixels: config.analysis.maxSourcePixels,
      maxConsecutiveDecodeErrors: config.analysis.maxConsecutiveDecodeErrors,
      decodeThreads: config.analysis.decodeThreads,
      hwaccel: cfg.hwaccel ?? config.analysis.hwaccel,
      allowNestedFormats: config.files.allowNestedFormats,
    },
    ...(opts.affect
      ? { affect: { stride: config.model.stride, smoothing: config.model.smoothing, queueFrames: config.model.queueFrames, maxTracks: config.model.maxTracks, baseline: config.baseline } }
      : {}),
  };
}
