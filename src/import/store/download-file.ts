/**
 * A careful download of one file: redirects followed within a limit (never from https to http),
 * resumed with HTTP Range after a dropped connection, retried with backoff on network errors and
 * 5xx, bounded in size before and while reading, idle-timed-out, and refused as soon as its first
 * bytes show it is not what was asked for (SharePoint answers a link that needs a sign-in with an
 * HTML page and status 200).
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import { httpGet } from './http-get.js';

export interface DownloadSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface DownloadFileOptions {
  readonly url: string;
  /** Where the finished file goes; the partial file is `${dest}.part` until it is complete. */
  readonly dest: string;
  readonly maxBytes: number;
  readonly headTimeoutMs?: number;
  /** No byte for this long ⇒ the attempt fails (and is retried, resuming). */
  readonly idleTimeoutMs?: number;
  readonly maxRedirects?: number;
  /** Further attempts after the first, for errors that may pass (network, timeouts, 5xx, 408, 429). */
  readonly retries?: number;
  readonly backoffMs?: number;
  /** Looks at the file's first bytes (at least 16 unless the file is shorter); a string return is the refusal's reason. */
  readonly sniff?: (head: Buffer, contentType: string | undefined) => string | undefined;
  readonly onProgress?: (received: number, total: number | undefined) => void;
  readonly onRetry?: (attempt: number, reason: string, delayMs: number) => void;
  readonly ca?: string | Buffer;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** Opens the partial file (seam for tests of a full disk); default: the real file, no links followed. */
  readonly openSink?: (path: string, append: boolean) => Promise<DownloadSink>;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The URL the bytes finally came from, after redirects. */
  readonly finalUrl: string;
  readonly contentType: string | undefined;
  readonly attempts: number;
  readonly resumed: boolean;
}

/** A failure that another attempt may not repeat (network, timeouts, 5xx, a truncated body). */
class Transient extends Error {}

const fail = (message: string, context: Record<string, unknown> = {}): AnalyticsError => new AnalyticsError(ErrorCodes.DOWNLOAD, message, { context });

async function fileSink(path: string, append: boolean): Promise<DownloadSink> {
  const fh: FileHandle = await open(path, (append ? constants.O_APPEND : constants.O_TRUNC) | constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  return {
    write: async (chunk) => {
      await fh.write(chunk);
    },
    close: () => fh.close(),
  };
}

async function sizeOf(path: string): Promise<number> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : 0;
  } catch {
    return 0;
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The start of an HTML answer, for the error: its <title> if it has one. */
async function describeHtml(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 65536) break;
  }
  res.destroy();
  const title = /<title[^>]*>([^<]{0,200})/i.exec(text)?.[1]?.trim();
  return title !== undefined && title !== '' ? `an HTML page titled "${title}"` : 'an HTML page';
}

const describeBytes = (b: Buffer): string =>
  JSON.stringify(
    b
      .subarray(0, 32)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '.'),
  );

export async function downloadFile(o: DownloadFileOptions): Promise<DownloadResult> {
  const part = `${o.dest}.part`;
  const retries = o.retries ?? 4;
  const maxRedirects = o.maxRedirects ?? 10;
  const openSink = o.openSink ?? fileSink;
  const origin = new URL(o.url);
  let attempts = 0;
  let resumed = false;
  for (;;) {
    attempts++;
    try {
      const r = await attempt();
      const bytes = await sizeOf(part);
      const sha256 = await sha256Of(part);
      await rename(part, o.dest);
      return { path: o.dest, bytes, sha256, finalUrl: r.finalUrl, contentType: r.contentType, attempts, resumed };
    } catch (err) {
      if (!(err instanceof Transient) || attempts > retries || o.signal?.aborted === true) {
        if (err instanceof Transient) throw fail(`${origin.host}: ${err.message} (gave up after ${attempts} attempt(s); run the same command again to resume)`, { url: redact(origin) });
        throw err;
      }
      const delayMs = Math.round((o.backoffMs ?? 1000) * 2 ** (attempts - 1) * (0.5 + Math.random() / 2));
      o.onRetry?.(attempts, err.message, delayMs);
      await sleep(delayMs, undefined, o.signal !== undefined ? { signal: o.signal } : undefined);
    }
  }

  async function attempt(): Promise<{ finalUrl: string; contentType: string | undefined }> {
    let url = origin;
    let have = await sizeOf(part);
    for (let hops = 0; ; hops++) {
      let res: IncomingMessage;
      try {
        res = await httpGet(url, {
          headTimeoutMs: o.headTimeoutMs ?? 30_000,
          headers: have > 0 ? { range: `bytes=${have}-` } : {},
          ...(o.ca !== undefined ? { ca: o.ca } : {}),
          ...(o.env !== undefined ? { env: o.env } : {}),
          ...(o.signal !== undefined ? { signal: o.signal } : {}),
        });
      } catch (err) {
        if (o.signal?.aborted === true) throw err;
        const e = err as NodeJS.ErrnoException;
        // Certificate problems never pass by retrying, and must never be waved through.
        if (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(e.code)) throw fail(`${url.host}: TLS verification failed (${e.code}): ${e.message}`, { url: redact(url) });
        throw new Transient(e.message);
      }
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        if (hops >= maxRedirects) throw fail(`${origin.host}: more than ${maxRedirects} redirects`, { url: redact(origin) });
        const next = new URL(res.headers.location, url);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw fail(`${url.host} redirected to a ${next.protocol}// URL; only http(s) is followed`);
        if (url.protocol === 'https:' && next.protocol === 'http:') throw fail(`${url.host} redirected from https to plain http (${next.host}); refused`);
        url = next;
        continue;
      }
      if (status === 416 && have > 0) {
        // The server cannot serve from where the partial file ends: it changed, or was complete. Start over.
        res.resume();
        await rm(part, { force: true });
        have = 0;
        continue;
      }
      if (status === 408 || status === 429 || status >= 500) {
        res.resume();
        throw new Transient(`${url.host} answered ${status} ${res.statusMessage ?? ''}`.trim());
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        const hint = status === 401 || status === 403 ? ': the link needs a sign-in or has expired — download the file in a browser, then add it with `daemon models add`' : status === 404 ? ': the file is not (or no longer) at that address' : '';
        throw fail(`${url.host} answered ${status} ${res.statusMessage ?? ''}${hint}`.replace(/ +:/, ':'), { url: redact(url), status });
      }
      const contentType = res.headers['content-type'];
      if (contentType !== undefined && /^\s*text\/html/i.test(contentType)) {
        const what = await describeHtml(res);
        throw fail(`${url.host} sent ${what} instead of the file (a sign-in or error page): download it in a browser, then add it with \`daemon models add\``, { url: redact(url) });
      }
      let offset = have;
      if (status === 206) {
        const start = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '')?.[1];
        if (start === undefined || Number(start) !== have) {
          res.resume();
          await rm(part, { force: true });
          throw new Transient(`${url.host} resumed at the wrong offset (${res.headers['content-range'] ?? 'no Content-Range'})`);
        }
        resumed = true;
      } else offset = 0;
      const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      const total = length !== undefined && Number.isFinite(length) ? offset + length : undefined;
      if (total !== undefined && total > o.maxBytes) {
        res.destroy();
        throw fail(`${url.host} offers ${total} bytes, more than the ${o.maxBytes} this file may have`, { url: redact(url) });
      }
      await receive(res, offset, total, contentType, url.host);
      return { finalUrl: redact(url), contentType };
    }
  }

  async function receive(res: IncomingMessage, offset: number, total: number | undefined, contentType: string | undefined, host: string): Promise<void> {
    // Listening before the first await: a body that arrives and breaks while the file opens would
    // otherwise be gone (a destroyed response emits nothing more).
    const body = everyChunk(res);
    const idleMs = o.idleTimeoutMs ?? 30_000;
    res.setTimeout(idleMs, () => res.destroy(new Transient(`no data for ${idleMs} ms`)));
    let sink: DownloadSink;
    try {
      sink = await openSink(part, offset > 0);
    } catch (err) {
      res.destroy();
      throw err;
    }
    let received = offset;
    let head = offset > 0 ? undefined : Buffer.alloc(0);
    try {
      for await (const chunk of body.chunks) {
        const buf = chunk as Buffer;
        if (received + buf.length > o.maxBytes) throw fail(`${host}: the file grew past the ${o.maxBytes} bytes it may have`);
        if (head !== undefined) {
          head = Buffer.concat([head, buf]);
          if (head.length < 16) continue;
          const refusal = o.sniff?.(head, contentType);
          if (refusal !== undefined) throw fail(`${host} sent ${refusal}, not the file asked for (it begins ${describeBytes(head)}); download it in a browser, then add it with \`daemon models add\``);
          await write(sink, head);
          received += head.length;
          head = undefined;
        } else {
          await write(sink, buf);
          received += buf.length;
        }
        o.onProgress?.(received, total);
      }
      if (head !== undefined && head.length > 0) {
        const refusal = o.sniff?.(head, contentType);
        if (refusal !== undefined) throw fail(`${host} sent ${refusal}, not the file asked for (it begins ${describeBytes(head)})`);
        await write(sink, head);
        received += head.length;
      }
      const broke = body.error();
      if (broke !== undefined) throw broke;
    } catch (err) {
      if (err instanceof AnalyticsError || err instanceof Transient) throw err;
      throw new Transient(`the connection broke after ${received} bytes (${(err as Error).message})`);
    } finally {
      res.destroy();
      await sink.close();
    }
    if (total !== undefined && received < total) throw new Transient(`the connection ended after ${received} of ${total} bytes`);
  }
}

/**
 * Every chunk the socket delivered, then the error that ended the body (if any). Iterating the
 * response itself would drop the chunks still buffered when it errors (a connection reset right
 * after the last bytes, read late on a loaded machine): those bytes are part of what the next run
 * resumes from.
 */
function everyChunk(res: IncomingMessage): { readonly chunks: PassThrough; readonly error: () => Error | undefined } {
  const chunks = new PassThrough({ highWaterMark: 1 << 20 });
  let error: Error | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    chunks.end();
  };
  res.on('data', (c: Buffer) => {
    if (!chunks.write(c)) res.pause();
  });
  chunks.on('drain', () => res.resume());
  res.once('end', end);
  res.once('error', (e) => {
    error ??= e;
    end();
  });
  res.once('close', () => {
    if (!res.complete) error ??= new Error('aborted');
    end();
  });
  if (res.destroyed) {
    error = new Error('aborted before its body was read');
    end();
  }
  return { chunks, error: () => error };
}

async function write(sink: DownloadSink, chunk: Buffer): Promise<void> {
  try {
    await sink.write(chunk);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EDQUOT' ? 'the disk quota is exhausted' : e.message;
    throw new AnalyticsError(ErrorCodes.DOWNLOAD, `cannot write the download: ${why} (free some space and run the same command again: it resumes)`, { cause: err });
  }
}

/** A URL without its query (SharePoint's share tokens) for logs and manifests' error messages. */
function redact(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}
