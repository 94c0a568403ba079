import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import { reconnecting, scrubCredentials, type RawFrame, type SourceSpec } from '../streams/open-source.js';
import type { RunSettings, RunSourceOptions } from './run-settings.js';
import type { RecordSink } from './stream-record.js';

export type OpenSource = (spec: SourceSpec, opts: RunSourceOptions) => AsyncGenerator<RawFrame>;

/** What the records of a source say: its decoder, a packet skipped, a frame left out by `analysisFps`, a camera lost and found. */
export type SourceRecordKind = 'decoder' | 'decode-error' | 'skipped' | 'reconnecting' | 'recovered';

/**
 * The run's frames, as a generator per abort signal: `open` with the source options of the run's
 * settings, and for a camera, reconnects with backoff (cameras come and go; files fail, or end,
 * for good). What the source tells becomes records, with credentials scrubbed from messages.
 */
export function openFrames(
  spec: SourceSpec,
  settings: Pick<RunSettings, 'realtime' | 'loop' | 'maxWidth' | 'analysisFps' | 'rtsp' | 'fileRoots' | 'source'>,
  open: OpenSource,
  report: RecordSink<SourceRecordKind>,
): (signal: AbortSignal) => AsyncGenerator<RawFrame> {
  const opts: RunSourceOptions = {
    ...settings.source,
    realtime: settings.realtime,
    loop: settings.loop,
    maxWidth: settings.maxWidth,
    ...(settings.fileRoots ? { fileRoots: settings.fileRoots } : {}),
    onDecodeError: (err) => report({ kind: 'decode-error', error: { code: errorCode(err), message: scrubCredentials(err.message) } }),
    onDecoder: (decoder) => report({ kind: 'decoder', decoder }),
    ...(settings.rtsp ? { rtspTransport: settings.rtsp.transport, rtspTimeoutMs: settings.rtsp.timeoutMs } : {}),
    ...(settings.analysisFps !== undefined ? { sampleFps: settings.analysisFps, onSkipped: () => report({ kind: 'skipped' }) } : {}),
  };
  const rtsp = settings.rtsp;
  if (spec.kind !== 'rtsp' || !rtsp) return (signal) => open(spec, { ...opts, signal });
  return (signal) =>
    reconnecting(
      (s) => open(spec, { ...opts, signal: s }),
      rtsp.reconnect,
      {
        onReconnecting: ({ attempt, delayMs, error }) =>
          report({ kind: 'reconnecting', attempt, delayMs, error: { code: error.code, message: scrubCredentials(error.message) } }),
        onRecovered: ({ attempts }) => report({ kind: 'recovered', attempts }),
      },
      { signal },
    );
}

const errorCode = (err: Error): string => (err instanceof AnalyticsError ? err.code : ErrorCodes.DECODE);
