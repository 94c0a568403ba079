import { Log } from 'node-av/lib';
import { AV_LOG_ERROR, AV_LOG_WARNING } from 'node-av/constants';
import type { Logger } from '../observability/logger.js';

/**
 * FFmpeg's log is one process-wide callback, and FFmpeg prints to stderr unless told otherwise.
 * Its messages never carry the meaning of a failure (every failure reaches the caller as our own
 * typed error); they are diagnostics. So: messages that are expected by design are dropped, the
 * rest are reported once per kind (again at the 10th, 100th, … occurrence, with the count), to
 * stderr for the command-line tools (errors only) or into the daemon's log at debug.
 *
 * The stderr form is installed when this module is first loaded (every module of src/streams that
 * reaches FFmpeg imports it), so no tool, test or command prints FFmpeg's default chatter; the
 * daemon replaces it with its logger (`routeFfmpegLogs`).
 */

/** Expected by design, or harmless: never worth a line. */
const EXPECTED: readonly RegExp[] = [
  // The probe of a multi-stream file is told to open no decoder (see AvInput), and FFmpeg says so
  // for every stream, then that it found no parameters for the streams it never decodes.
  /not on whitelist '-'/,
  /Failed to open codec in avformat_find_stream_info/,
  /Could not find codec parameters for stream \d+ \((Audio|Subtitle|Data|Attachment)/,
  /Consider increasing the value for the 'analyzeduration'/,
  // swscale on JPEG's full-range yuvj formats (every JPEG decoded or encoded): the conversion
  // takes the range from the format itself and is right.
  /deprecated pixel format used, make sure you did set range correctly/,
];

export function isExpectedFfmpegMessage(text: string): boolean {
  return EXPECTED.some((re) => re.test(text));
}

/** What makes two messages "the same kind": the context's address and every number dropped. */
export function ffmpegMessageKind(text: string): string {
  return text
    .replace(/ @ 0x[0-9a-f]+\]/gi, ']')
    .replace(/-?\d+/g, '#')
    .trim();
}

/** Distinct kinds remembered; past this, unseen kinds are still reported but no longer counted. */
const MAX_KINDS = 2048;

/**
 * Decides which occurrences of a message to report: the first of each kind, then the 10th, 100th,
 * … (returned as the count so far), never an expected one.
 */
export class FfmpegLogFilter {
  private readonly seen = new Map<string, number>();

  /** The occurrence count to report with, or undefined to stay silent. */
  admit(text: string): number | undefined {
    if (text === '' || isExpectedFfmpegMessage(text)) return undefined;
    const kind = ffmpegMessageKind(text);
    const n = (this.seen.get(kind) ?? 0) + 1;
    if (this.seen.has(kind) || this.seen.size < MAX_KINDS) this.seen.set(kind, n);
    return isPowerOfTen(n) ? n : undefined;
  }
}

function isPowerOfTen(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}

type Sink = 'stderr' | 'logger';
let installed: Sink | undefined;

function withCount(text: string, n: number): string {
  return n > 1 ? `${text} (×${n})` : text;
}

function installStderr(): void {
  installed = 'stderr';
  const filter = new FfmpegLogFilter();
  Log.setLevel(AV_LOG_ERROR);
  // maxLevel keeps the rest on FFmpeg's side; the check below in case a binding passes them anyway.
  Log.setCallback((level, message) => {
    if (level > AV_LOG_ERROR) return;
    const text = message.trim();
    const n = filter.admit(text);
    if (n !== undefined) process.stderr.write(`ffmpeg: ${withCount(text, n)}\n`);
  }, { maxLevel: AV_LOG_ERROR });
}

/** Routes FFmpeg's errors and warnings into the daemon's log at debug, filtered as above. */
export function routeFfmpegLogs(logger: Logger): void {
  installed = 'logger';
  const log = logger.child({ component: 'ffmpeg' });
  const filter = new FfmpegLogFilter();
  Log.setLevel(AV_LOG_WARNING);
  Log.setCallback((level, message) => {
    if (level > AV_LOG_WARNING) return;
    const text = message.trim();
    const n = filter.admit(text);
    if (n !== undefined) log.debug({ ffmpegLevel: level <= AV_LOG_ERROR ? 'error' : 'warning', ...(n > 1 ? { occurrences: n } : {}) }, text);
  }, { maxLevel: AV_LOG_WARNING });
}

/**
 * For tools without a logger (bench, tests, the command-line tools): FFmpeg errors only, on
 * stderr, filtered as above. The default already; kept for callers that say so explicitly, and a
 * no-op once the daemon routed the log to its logger.
 */
export function quietFfmpeg(): void {
  if (installed === undefined) installStderr();
}

quietFfmpeg();
