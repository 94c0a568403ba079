import { readDemo } from './demo-source.js';
import { readPush } from './push-source.js';
import type { SourceSpec } from './source-url.js';
import { readVideo, type RawFrame, type VideoSourceOptions } from './video-source.js';

export type { RawFrame, VideoSourceOptions } from './video-source.js';
export { HWACCEL_MODES, type DecoderReport, type HwaccelMode, type HwFallbackReason } from './hw-device.js';
export { parseSourceUrl, redactUrl, scrubCredentials, isUnderRoots, SUPPORTED_SCHEMES, type SourceSpec } from './source-url.js';

/** The one entry point from the rest of the daemon into node-av. */
export function openSource(spec: SourceSpec, opts: VideoSourceOptions): AsyncGenerator<RawFrame> {
  if (spec.kind === 'push') return readPush(opts.pushChannels?.get(spec.name), spec.name, opts);
  return spec.kind === 'demo' ? readDemo(opts) : readVideo(spec, opts);
}
export { PushChannels, PushChannel, type PushRefusal, type PushedFrame } from './push-source.js';
export { writeDemoClip, type ClipOptions } from './write-clip.js';
export { PacketTap } from './packet-tap.js';
export { VideoRecorder, type RecordingContainer, type RecordingProgress, type RecordingStart, type VideoRecorderOptions } from './video-recorder.js';
export { openRecordingFile, type RecordingFile, type RecordingFileOpener } from './recording-file.js';
export { probeRecordedVideo, type RecordedVideo } from './probe-recording.js';
export { quietFfmpeg, routeFfmpegLogs } from './ffmpeg-log.js';
export { reconnecting, DEFAULT_RECONNECT_POLICY, type ReconnectPolicy, type ReconnectHooks } from './reconnect.js';
