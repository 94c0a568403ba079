import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AnalyticsError } from '../../core/errors.js';
import { testMediaDir } from '../../paths.js';
import { openSource, quietFfmpeg, type DecoderReport, type HwaccelMode } from '../../streams/open-source.js';

/** One side's figures for one thread setting: medians over the runs. */
export interface DecodeSide {
  readonly frames: number;
  /** Wall time per frame (ms): sensitive to other load on the machine. */
  readonly msPerFrame: number;
  /** CPU time per frame (ms, user + system, all threads): the work done, robust to load. */
  readonly cpuMsPerFrame: number;
}

export interface DecodeBenchResult {
  readonly input: string;
  readonly width: number;
  readonly runs: number;
  readonly daemon: { readonly singleThread: DecodeSide; readonly multiThread: DecodeSide };
  readonly ffmpeg?: { readonly singleThread: DecodeSide; readonly multiThread: DecodeSide; readonly command: string };
  /** Daemon ÷ ffmpeg command line, single-threaded CPU time per frame (the goal is ≤ 1.5). */
  readonly ratio?: number;
  /** The same ratio on wall time (noisier on a shared machine). */
  readonly wallRatio?: number;
  readonly multiThreadRatio?: number;
  /** With --hwaccel: that decoder, single-threaded, interleaved with the runs above. */
  readonly hwaccel?: {
    readonly requested: HwaccelMode;
    /** What decoded: `software` or the device type (from the decoder's own report). */
    readonly decoder: DecoderReport['decoder'];
    /** `reason: message` when it fell back to software. */
    readonly fallback?: string;
    readonly singleThread: DecodeSide;
    /** hwaccel ÷ software (daemon, 1 thread), per frame. */
    readonly wallRatio: number;
    readonly cpuRatio: number;
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

/** The daemon's own decode path (openSource: demux → decode → scale + RGB in FFmpeg's filter graph → owned buffer). */
async function daemonRun(
  file: string,
  width: number,
  threads: number,
  hw?: { readonly mode: HwaccelMode; readonly onDecoder: (r: DecoderReport) => void },
): Promise<{ frames: number; wallMs: number; cpuMs: number }> {
  let frames = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const opts = { realtime: false, loop: false, maxWidth: width, decodeThreads: threads, ...(hw ? { hwaccel: hw.mode, onDecoder: hw.onDecoder } : {}) };
  for await (const f of openSource({ kind: 'file', path: file }, opts)) {
    if (f.data.length === 0) throw new Error('empty frame');
    frames++;
  }
  const c = process.cpuUsage(c0);
  return { frames, wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

function ffmpegArgs(file: string, width: number, threads: number | undefined): string[] {
  return ['-hide_banner', '-nostats', '-benchmark', ...(threads !== undefined ? ['-threads', String(threads)] : []), '-i', file, '-vf', `scale=${width}:-2`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-y', '/dev/null'];
}

/** The ffmpeg command line on the same work; its own `-benchmark` line gives CPU and real time. */
function ffmpegRun(file: string, width: number, threads: number | undefined): Promise<{ wallMs: number; cpuMs: number } | undefined> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ffmpegArgs(file, width, threads), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      const m = /bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(text);
      if (code !== 0 || !m) return resolve(undefined);
      resolve({ cpuMs: (Number(m[1]) + Number(m[2])) * 1000, wallMs: Number(m[3]) * 1000 });
    });
  });
}

function side(frames: number, runs: readonly { wallMs: number; cpuMs: number }[]): DecodeSide {
  return { frames, msPerFrame: round(median(runs.map((r) => r.wallMs)) / frames), cpuMsPerFrame: round(median(runs.map((r) => r.cpuMs)) / frames) };
}

export async function runDecodeBench(o: { input?: string; width: number; runs: number; hwaccel?: HwaccelMode }): Promise<DecodeBenchResult> {
  quietFfmpeg();
  const input = path.resolve(o.input ?? path.join(testMediaDir, 'utterance_1.mp4'));
  if (!existsSync(input)) throw new Error(`input not found: ${input} (pass --input FILE)`);
  await daemonRun(input, o.width, 1); // warm-up: module load, JIT, file cache
  const d1: { wallMs: number; cpuMs: number }[] = [];
  const d0: { wallMs: number; cpuMs: number }[] = [];
  const f1: { wallMs: number; cpuMs: number }[] = [];
  const f0: { wallMs: number; cpuMs: number }[] = [];
  const dh: { wallMs: number; cpuMs: number }[] = [];
  let report: DecoderReport | undefined;
  const hw = o.hwaccel !== undefined && o.hwaccel !== 'none' ? { mode: o.hwaccel, onDecoder: (r: DecoderReport) => (report = r) } : undefined;
  let frames = 0;
  let haveFfmpeg = true;
  // Interleaved, so both sides see the same background load.
  for (let i = 0; i < o.runs; i++) {
    // Software and hardware alternate which goes first: the first of a pair runs on a colder cache.
    if (hw && i % 2 === 1) dh.push(await daemonRun(input, o.width, 1, hw));
    const a = await daemonRun(input, o.width, 1);
    frames = a.frames;
    d1.push(a);
    if (hw && i % 2 === 0) dh.push(await daemonRun(input, o.width, 1, hw));
    if (haveFfmpeg) {
      const r = await ffmpegRun(input, o.width, 1);
      if (r) f1.push(r);
      else haveFfmpeg = false;
    }
    d0.push(await daemonRun(input, o.width, 0));
    if (haveFfmpeg) {
      const r = await ffmpegRun(input, o.width, undefined);
      if (r) f0.push(r);
    }
  }
  if (frames === 0) throw new Error(`no frame decoded from ${input}`);
  const daemon = { singleThread: side(frames, d1), multiThread: side(frames, d0) };
  const hwSide = hw ? side(frames, dh) : undefined;
  const hwaccel =
    hw && hwSide && report
      ? {
          hwaccel: {
            requested: hw.mode,
            decoder: report.decoder,
            ...(report.fallback ? { fallback: `${report.fallback.reason}: ${report.fallback.message}` } : {}),
            singleThread: hwSide,
            wallRatio: round(hwSide.msPerFrame / daemon.singleThread.msPerFrame, 2),
            cpuRatio: round(hwSide.cpuMsPerFrame / daemon.singleThread.cpuMsPerFrame, 2),
          },
        }
      : {};
  if (!haveFfmpeg || f1.length === 0 || f0.length === 0) return { input, width: o.width, runs: o.runs, daemon, ...hwaccel };
  const ffmpeg = { singleThread: side(frames, f1), multiThread: side(frames, f0), command: `ffmpeg ${ffmpegArgs(input, o.width, 1).join(' ')}` };
  return {
    input,
    width: o.width,
    runs: o.runs,
    daemon,
    ffmpeg,
    ratio: round(daemon.singleThread.cpuMsPerFrame / ffmpeg.singleThread.cpuMsPerFrame, 2),
    wallRatio: round(daemon.singleThread.msPerFrame / ffmpeg.singleThread.msPerFrame, 2),
    multiThreadRatio: round(daemon.multiThread.msPerFrame / ffmpeg.multiThread.msPerFrame, 2),
    ...hwaccel,
  };
}

export async function benchDecode(o: { input?: string; width: number; runs: number; hwaccel?: HwaccelMode; json: boolean }): Promise<void> {
  let r: DecodeBenchResult;
  try {
    r = await runDecodeBench(o);
  } catch (err) {
    // A bad input is the user's to fix: its code and message, not a stack.
    const code = err instanceof AnalyticsError ? `${err.code}: ` : '';
    console.error(`bench decode: ${code}${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  if (o.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  const line = (name: string, s: DecodeSide): string =>
    `${name.padEnd(26)} ${s.msPerFrame.toFixed(3).padStart(7)} ms/frame wall  ${s.cpuMsPerFrame.toFixed(3).padStart(7)} ms/frame CPU`;
  console.log(`${path.basename(r.input)} → ${r.width} px wide RGB, ${r.daemon.singleThread.frames} frames, median of ${r.runs} runs`);
  console.log(line('daemon, 1 thread', r.daemon.singleThread));
  if (r.ffmpeg) console.log(line('ffmpeg CLI, -threads 1', r.ffmpeg.singleThread));
  console.log(line('daemon, auto threads', r.daemon.multiThread));
  if (r.ffmpeg) console.log(line('ffmpeg CLI, auto threads', r.ffmpeg.multiThread));
  if (r.hwaccel) {
    console.log(line(`daemon, 1 thread, ${r.hwaccel.requested}`, r.hwaccel.singleThread));
    console.log(`decoder used with --hwaccel ${r.hwaccel.requested}: ${r.hwaccel.decoder}${r.hwaccel.fallback ? ` (fell back: ${r.hwaccel.fallback})` : ''}`);
    console.log(`ratio ${r.hwaccel.requested}/none, 1 thread: ${r.hwaccel.wallRatio} (wall) · ${r.hwaccel.cpuRatio} (CPU)`);
  }
  if (r.ratio !== undefined) console.log(`ratio daemon/ffmpeg, single-threaded: ${r.ratio} (CPU) · ${r.wallRatio} (wall); auto threads: ${r.multiThreadRatio} (wall)`);
  else console.log('ffmpeg not found on PATH: no comparison');
}
