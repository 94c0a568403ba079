import { Log } from 'node-av/lib';
import { AV_LOG_ERROR, AV_LOG_WARNING } from 'node-av/constants';
import type { Logger } from '../observability/logger.js';

/**
 * FFmpeg prints straight to stderr. Route its messages (errors and warnings only) into the
 * daemon's log at debug level: per-stream problems reach the log as our own typed errors.
 */
export function routeFfmpegLogs(logger: Logger): void {
  const log = logger.child({ component: 'ffmpeg' });
  Log.setLevel(AV_LOG_WARNING);
  Log.setCallback((level, message) => {
    const text = message.trim();
    if (text && !EXPECTED.test(text)) log.debug({ ffmpegLevel: level <= AV_LOG_ERROR ? 'error' : 'warning' }, text);
  });
}

let quieted = false;

/**
 * The probe of a multi-stream file is told to open no decoder (see AvInput), and FFmpeg says so at
 * error level for every stream: expected, not a problem worth a line (a real failure to decode
 * still reaches the caller as a typed error).
 */
const EXPECTED = /not on whitelist '-'|Failed to open codec in avformat_find_stream_info/;

/** For tools without a logger (bench, tests): FFmpeg errors only, on stderr. */
export function quietFfmpeg(): void {
  if (quieted) return;
  quieted = true;
  Log.setLevel(AV_LOG_ERROR);
  // The callback sees messages above the level too (swscale's "deprecated pixel format" warning
  // for every JPEG encoded): filter here.
  Log.setCallback((level, message) => {
    if (level <= AV_LOG_ERROR && !EXPECTED.test(message)) process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  });
}
