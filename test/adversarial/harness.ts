/**
 * The adversarial suite's harness: one real daemon, in this process, on a loopback port chosen by
 * the kernel, with one looped file stream (the "witness") that must keep running whatever a case
 * throws at the daemon.
 *
 *   const h = await startHarness();            // beforeAll
 *   const r = await h.raw('GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
 *   expect(r.status).toBe(400);
 *   await h.check('bad escape');               // after every case
 *   await h.close();                           // afterAll
 *
 * `check()` asserts that the daemon still answers /healthz, that the witness stream still advances
 * its frame counter, and that nothing leaked: open file descriptors of this process
 * (/proc/self/fd, so the test's own client sockets count too: close them), `va_tensors_alive`,
 * and RSS, each within a slack of the baseline taken when the harness started. It also fails if
 * the daemon logged at error level or above since the previous check (a client's input is never
 * a server error), unless the case says it expects one.
 */
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { expect } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';

/** The id of the looped stream that must keep running. */
export const WITNESS = 'witness';

export interface HarnessLimits {
  /** Extra open fds allowed over the baseline (sockets closing, worker pipes). */
  readonly fds: number;
  /** Extra live tensors allowed over the baseline (frames in flight vary). */
  readonly tensors: number;
  /** Extra resident memory allowed over the baseline, in bytes. */
  readonly rssBytes: number;
  /** How long a check may wait for fds/tensors to settle and the witness to advance. */
  readonly settleMs: number;
}

export interface RawResponse {
  /** Status of the first response line, if any arrived. */
  readonly status: number | undefined;
  /** Everything the daemon sent (head and body), as latin1 text. */
  readonly text: string;
  /** The header block of the first response, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body after the first header block. */
  readonly body: string;
  /** True if the daemon closed the connection (rather than the harness timing out). */
  readonly closedByServer: boolean;
}

export interface Harness {
  readonly daemon: RunningDaemon;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** Sends bytes on a fresh TCP connection and collects the answer until close or `timeoutMs`. */
  raw(data: string | Buffer, opts?: { timeoutMs?: number; endAfterWrite?: boolean }): Promise<RawResponse>;
  /** A JSON request with a proper content type (for cases that need a valid request). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Asserts the daemon is healthy and nothing leaked; `label` names the case in failures. */
  check(label: string, opts?: { allowErrorLogs?: boolean }): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_LIMITS: HarnessLimits = { fds: 24, tensors: 96, rssBytes: 400 * 1024 * 1024, settleMs: 10_000 };

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function parseHead(text: string): { status: number | undefined; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : undefined, headers, body: end < 0 ? '' : text.slice(end + 4) };
}

export function rawExchange(port: number, data: string | Buffer, opts: { timeoutMs?: number; endAfterWrite?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(data);
      if (opts.endAfterWrite) socket.end();
    });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ ...parseHead(text), text, closedByServer });
    };
    const timer = setTimeout(done, opts.timeoutMs ?? 3000);
    socket.on('data', (b: Buffer) => chunks.push(b));
    socket.on('end', () => (closedByServer = true));
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

/**
 * Starts the daemon (config merged over a loopback default with the witness stream; the shared
 * media folder is a file root) and takes the baseline once the witness runs.
 */
export async function startHarness(opts: { config?: ConfigInput; limits?: Partial<HarnessLimits> } = {}): Promise<Harness> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const input = opts.config ?? {};
  const daemon = await startDaemon({
    files: { roots: [mediaDir] },
    ...input,
    streams: [{ id: WITNESS, url: media('utterance_1.mp4'), loop: true }, ...(input.streams ?? [])],
  });
  const port = Number(new URL(daemon.base).port);
  const token = daemon.config.auth.token;
  const auth: Record<string, string> = token !== null ? { authorization: `Bearer ${token}` } : {};
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(daemon.base + path, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const witness = async (): Promise<number> => ((await (await api('GET', `/v1/streams/${WITNESS}`)).json()) as { framesDecoded: number }).framesDecoded;
  await waitUntil(async () => (await witness()) > 10, 30_000, 'the witness stream to run');
  const tensorsOf = async (): Promise<number> => {
    const m = parseMetrics(await (await api('GET', '/metrics')).text());
    return m.get('va_tensors_alive') ?? NaN;
  };
  const baseline = { fds: openFds(), tensors: await tensorsOf(), rss: process.memoryUsage().rss };
  let logMark = daemon.logs.length;

  return {
    daemon,
    port,
    base: daemon.base,
    raw: (data, o) => rawExchange(port, data, o),
    api,
    async check(label, o = {}) {
      const health = await api('GET', '/healthz');
      expect(health.status, `${label}: /healthz`).toBe(200);
      const before = await witness();
      await waitUntil(async () => (await witness()) > before, limits.settleMs, `${label}: the witness stream to advance`);
      await waitUntil(() => openFds() <= baseline.fds + limits.fds, limits.settleMs, `${label}: fds back near ${baseline.fds} (now ${openFds()})`).catch(
        () => expect(openFds(), `${label}: open fds (baseline ${baseline.fds})`).toBeLessThanOrEqual(baseline.fds + limits.fds),
      );
      let tensors = NaN;
      await waitUntil(async () => (tensors = await tensorsOf()) <= baseline.tensors + limits.tensors, limits.settleMs, 'tensors').catch(() =>
        expect(tensors, `${label}: va_tensors_alive (baseline ${baseline.tensors})`).toBeLessThanOrEqual(baseline.tensors + limits.tensors),
      );
      expect(process.memoryUsage().rss, `${label}: RSS (baseline ${baseline.rss})`).toBeLessThanOrEqual(baseline.rss + limits.rssBytes);
      if (!o.allowErrorLogs) {
        const errors = daemon.logs.slice(logMark).filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
        expect(errors, `${label}: error logs`).toEqual([]);
      }
      logMark = daemon.logs.length;
    },
    close: () => daemon.close(),
  };
}
