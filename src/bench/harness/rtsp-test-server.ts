/**
 * tools/rtsp_server.py (GStreamer's RTSP server, Debian packages) as a child process: the real
 * camera of the RTSP tests and the soak benchmark. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../paths.js';

/** Debian's interpreter: the one with python3-gi. The python3 first on PATH may be another. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(packageRoot, 'tools', 'rtsp_server.py');

export interface RtspServerOptions {
  /** Video file to loop; ignored when `silent`. */
  readonly file?: string;
  /** 0 or absent: the kernel picks a free port (reused by `restart()`). */
  readonly port?: number;
  readonly path?: string;
  /** Accept TCP connections but never answer (a hung camera at the RTSP level). */
  readonly silent?: boolean;
  /** Serve media for this long per session, then stop sending RTP with the session kept open. */
  readonly stallAfterSec?: number;
  readonly readyTimeoutMs?: number;
}

export interface RtspServer {
  readonly url: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now: the camera vanishes without a TEARDOWN, like a power cut. */
  kill(): void;
  /** Starts the server again on the same port (after stop() or kill()). */
  restart(): Promise<void>;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function launch(opts: RtspServerOptions, port: number): Promise<{ running: Running; url: string; port: number }> {
  const args = [SCRIPT, '--port', String(port), '--path', opts.path ?? '/stream'];
  if (opts.silent) args.push('--silent');
  else if (opts.file) args.push('--file', opts.file);
  if (opts.stallAfterSec !== undefined) args.push('--stall-after', String(opts.stallAfterSec));
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    // Keep only the tail: GStreamer can be chatty and we only need the cause.
    stderr = (stderr + s).slice(-4000);
  });
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`rtsp_server.py ${why}\n  cmd: ${PYTHON} ${args.join(' ')}\n  stderr: ${stderr.trim() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`printed no READY line within ${timeoutMs} ms`), timeoutMs);
    const onError = (err: Error): void => fail(`could not start: ${err.message}`);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited early (code ${String(code)}, signal ${String(signal)})`);
    child.once('error', onError);
    child.once('exit', onExit);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const m = /^READY (rtsp:\/\/127\.0\.0\.1:(\d+)\/\S*)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      resolve({ running: { child, exited }, url: m[1]!, port: Number(m[2]) });
    });
  });
}

/** Starts tools/rtsp_server.py on 127.0.0.1 and resolves once it listens. */
export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const first = await launch(opts, opts.port ?? 0);
  let current: Running | undefined = first.running;
  const { url, port } = first;

  const stop = async (): Promise<void> => {
    const r = current;
    current = undefined;
    if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
    r.child.kill('SIGTERM');
    const force = setTimeout(() => r.child.kill('SIGKILL'), 3000);
    await r.exited;
    clearTimeout(force);
  };

  return {
    url,
    port,
    stop,
    kill() {
      current?.child.kill('SIGKILL');
    },
    async restart() {
      await stop();
      // The old listener's port may linger briefly; the server sets SO_REUSEADDR, so retry a few times.
      let lastErr: unknown;
      for (let i = 0; i < 5; i++) {
        try {
          current = (await launch({ ...opts }, port)).running;
          return;
        } catch (err) {
          lastErr = err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw lastErr;
    },
  };
}
