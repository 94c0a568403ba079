import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { constants as os } from 'node:os';
import { AVERROR_INVALIDDATA } from 'node-av/constants';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { AvInput, AvOpenError } from './av-input.js';
import { scrubCredentials } from './redact-url.js';
import { splitNetworkUrl } from './source-url.js';

export interface RtspInputOptions {
  readonly transport: 'tcp' | 'udp';
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

const errno = os.errno;

/**
 * Opens an RTSP source and says truthfully why it could not: the host name does not resolve
 * (checked first, with the system resolver FFmpeg also uses), the camera refused the connection,
 * or it accepted and then stayed silent past the timeout (VA_ERR_SOURCE_TIMEOUT).
 */
export async function openRtspInput(url: string, o: RtspInputOptions): Promise<AvInput> {
  const parts = splitNetworkUrl(url);
  const shown = scrubCredentials(url);
  if (isIP(parts.host) === 0) {
    try {
      await lookup(parts.host);
    } catch (err) {
      o.signal?.throwIfAborted();
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      throw new SourceError(ErrorCodes.SOURCE_OPEN, `host not found: ${parts.host} (${code}) for ${shown}`, {
        cause: err,
        context: { reason: 'host-not-found', host: parts.host },
      });
    }
  }
  const started = performance.now();
  try {
    return await AvInput.open(url, {
      options: { rtsp_transport: o.transport, timeout: String(Math.round(o.timeoutMs * 1000)) },
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const elapsedMs = performance.now() - started;
    const averror = err instanceof AvOpenError ? err.averror : 0;
    const detail = scrubCredentials(err instanceof Error ? err.message : String(err));
    if (averror === -errno.ECONNREFUSED) {
      throw new SourceError(ErrorCodes.SOURCE_OPEN, `connection refused by ${parts.host}${parts.port ? `:${parts.port}` : ''} (${shown})`, {
        cause: err,
        context: { reason: 'connection-refused', host: parts.host },
      });
    }
    if (averror === -errno.EHOSTUNREACH || averror === -errno.ENETUNREACH) {
      throw new SourceError(ErrorCodes.SOURCE_OPEN, `host unreachable: ${parts.host} (${shown})`, { cause: err, context: { reason: 'unreachable', host: parts.host } });
    }
    // FFmpeg's RTSP client reports a server that stayed silent past `timeout` as ETIMEDOUT, EIO or
    // (after logging "Connection timed out") INVALIDDATA: the elapsed time tells them apart.
    const silent = averror === -errno.EIO || averror === AVERROR_INVALIDDATA;
    if (averror === -errno.ETIMEDOUT || (silent && elapsedMs >= o.timeoutMs * 0.9)) {
      throw new SourceError(ErrorCodes.SOURCE_TIMEOUT, `no answer from ${shown} within ${o.timeoutMs} ms (rtsp.timeoutMs)`, {
        cause: err,
        context: { reason: 'timeout', host: parts.host, timeoutMs: o.timeoutMs },
      });
    }
    throw new SourceError(ErrorCodes.SOURCE_OPEN, `cannot connect: ${detail} (${shown})`, { cause: err, context: { host: parts.host } });
  }
}
