import { mkdtempSync, rmSync } from 'node:fs';
import type { DevicePreference } from '../../models/placement/placement.js';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { configSchema } from '../../config/schema.js';
import { buildDaemon } from '../../daemon.js';
import type { EnginePreference } from '../../models/ensemble/member-runner.js';
import { writeRandomModelDir } from '../harness/random-model-dir.js';
import { createLogger } from '../../observability/logger.js';
import { testMediaDir } from '../../paths.js';

/** `compact-half`: the compact ResNet-18 at half channel width (the CPU real-time candidate). */
export type BenchArch = 'compact' | 'compact-half' | 'resnet50';

/** Where the measured time went, from the daemon's own histograms over the measured seconds (means). */
export interface PipelineStageTimes {
  /** Demux + decode + scale per decoded frame. */
  readonly decodeMs: number;
  /** Face detection + landmarks per analysed frame. */
  readonly detectMs: number;
  /** CNN batches (every member's backbone and heads): ms per batch, faces per batch, ms per face. */
  readonly cnnMsPerBatch: number;
  readonly cnnBatchSize: number;
  readonly cnnMsPerFace: number;
  /** GRU window batches: ms per batch, windows per batch. */
  readonly gruMsPerBatch: number;
  readonly gruBatchSize: number;
  /** Share of the measured time a CNN or GRU batch was running (1 = the affect model never idled). */
  readonly modelBusy: number;
  /** CPU time of the whole daemon process (every thread) per wall second: cores in use. */
  readonly processCores: number;
  /**
   * The process's CPU time per affect event (frames dropped under load included): what one
   * analysed face costs end to end, whatever share of the cores a shared machine left the run.
   */
  readonly cpuMsPerFaceFrame: number;
}

export interface PipelineBenchRun {
  readonly arch: BenchArch;
  readonly members: number;
  readonly streams: number;
  readonly analysisFps: number | null;
  /** `model.threads` and `model.workers` of the daemon under test (0: the daemon's rule). */
  readonly threads: number;
  readonly workers: number;
  /** `model.maxWaitMs`: how long a CNN or GRU batch waits for more requests. */
  readonly maxWaitMs: number;
  readonly seconds: number;
  /** Affect events (one per face and analysed frame) per second, all streams together. */
  readonly faceFramesPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  /** Share of decoded frames whose analysis was skipped under load (detection or affect queues). */
  readonly dropRate: number;
  /**
   * Frames decoded / frames the sources produced in the measured time. Below 1 the daemon's thread
   * could not even keep reading: a paced file then plays slower, a camera's frames back up.
   */
  readonly decodedShare: number;
  readonly stages: PipelineStageTimes;
  /** The host's 1-minute load average at the end of the run (the machine may be shared). */
  readonly loadAverage: number;
}

/** Nominal frame rates of the clips the benchmark loops. */
const CLIP_FPS: Readonly<Record<string, number>> = { 'utterance_1.mp4': 29.97, 'single_face.mp4': 30, 'face_noface.mov': 30 };

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

const sumOf = (metrics: MetricsJson, name: string, where: (labels: Record<string, unknown>) => boolean = () => true): number => {
  const m = metrics.find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => where((v.labels ?? {}) as Record<string, unknown>)).reduce((s, v) => s + (v.value ?? 0), 0);
};

/** A histogram's sum and count, optionally of one `stage` label. */
const histogram = (metrics: MetricsJson, name: string, stage?: string): { sum: number; count: number } => {
  const m = metrics.find((x) => x.name === name);
  let sum = 0;
  let count = 0;
  for (const v of m?.values ?? []) {
    const labels = (v.labels ?? {}) as Record<string, unknown>;
    if (stage !== undefined && labels.stage !== stage) continue;
    const metricName = (v as { metricName?: string }).metricName;
    if (metricName === `${name}_sum`) sum += v.value;
    else if (metricName === `${name}_count`) count += v.value;
  }
  return { sum, count };
};

interface Snapshot {
  readonly decoded: number;
  readonly dropped: number;
  readonly decode: { sum: number; count: number };
  readonly detect: { sum: number; count: number };
  readonly cnn: { sum: number; count: number };
  readonly cnnSize: { sum: number; count: number };
  readonly gru: { sum: number; count: number };
  readonly gruSize: { sum: number; count: number };
  readonly cpu: NodeJS.CpuUsage;
  readonly at: number;
}

async function snapshot(registry: Registry): Promise<Snapshot> {
  const m = await registry.getMetricsAsJSON();
  return {
    // Frames skipped by analysisFps were decoded too (and dropped before any conversion).
    decoded: sumOf(m, 'va_frames_decoded_total') + sumOf(m, 'va_frames_skipped_total'),
    dropped: sumOf(m, 'va_frames_dropped_total') + sumOf(m, 'va_affect_frames_dropped_total'),
    decode: histogram(m, 'va_decode_duration_seconds'),
    detect: histogram(m, 'va_detection_duration_seconds'),
    cnn: histogram(m, 'va_inference_duration_seconds', 'cnn'),
    cnnSize: histogram(m, 'va_inference_batch_size', 'cnn'),
    gru: histogram(m, 'va_inference_duration_seconds', 'gru'),
    gruSize: histogram(m, 'va_inference_batch_size', 'gru'),
    cpu: process.cpuUsage(),
    at: performance.now(),
  };
}

const round = (x: number, digits: number): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : 0);
const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }): number => (b.count > a.count ? (b.sum - a.sum) / (b.count - a.count) : 0);

function stageTimes(a: Snapshot, b: Snapshot, events: number): PipelineStageTimes {
  const wallS = (b.at - a.at) / 1000;
  const cnnMs = mean(a.cnn, b.cnn) * 1000;
  const cnnBatch = mean(a.cnnSize, b.cnnSize);
  const cpuMs = (b.cpu.user - a.cpu.user + (b.cpu.system - a.cpu.system)) / 1000;
  return {
    decodeMs: round(mean(a.decode, b.decode) * 1000, 2),
    detectMs: round(mean(a.detect, b.detect) * 1000, 1),
    cnnMsPerBatch: round(cnnMs, 1),
    cnnBatchSize: round(cnnBatch, 2),
    cnnMsPerFace: round(cnnBatch > 0 ? cnnMs / cnnBatch : 0, 1),
    gruMsPerBatch: round(mean(a.gru, b.gru) * 1000, 1),
    gruBatchSize: round(mean(a.gruSize, b.gruSize), 2),
    modelBusy: round((b.cnn.sum - a.cnn.sum + (b.gru.sum - a.gru.sum)) / wallS, 3),
    processCores: round(cpuMs / 1000 / wallS, 2),
    cpuMsPerFaceFrame: round(events > 0 ? cpuMs / events : 0, 1),
  };
}

type RunShape = Pick<PipelineBenchRun, 'arch' | 'members' | 'streams' | 'analysisFps' | 'threads' | 'workers' | 'maxWaitMs' | 'seconds'>;

async function runOnce(model: string, o: RunShape, backend: string, engine: EnginePreference, device: DevicePreference = 'auto'): Promise<PipelineBenchRun> {
  const media = testMediaDir;
  const clips = ['utterance_1.mp4', 'single_face.mp4', 'face_noface.mov', 'utterance_1.mp4'];
  const config = configSchema.parse({
    backend,
    server: { port: 0 },
    log: { level: 'warn' },
    files: { roots: [media] },
    analysis: { analysisFps: o.analysisFps },
    model: { dir: model, stride: 8, engine, device, threads: o.threads, workers: o.workers, maxWaitMs: o.maxWaitMs },
    detector: { device },
    streams: Array.from({ length: o.streams }, (_, i) => ({ id: `s${i}`, url: path.join(media, clips[i % clips.length]!), realtime: true, loop: true })),
  });
  const nominalFps = config.streams.reduce((sum, st) => sum + (CLIP_FPS[path.basename(st.url)] ?? 30), 0);
  const registry = new Registry();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const daemon = buildDaemon(config, { logger: createLogger('warn', sink), registry });
  const latencies: number[] = [];
  let counting = false;
  const sub = daemon.events.subscribe((e) => {
    if (counting && e.type === 'affect') latencies.push(e.latencyMs);
  });
  try {
    await daemon.start();
    await sleep(8000); // warm-up: kernels compiled, first windows filled
    const before = await snapshot(registry);
    counting = true;
    await sleep(o.seconds * 1000);
    counting = false;
    const after = await snapshot(registry);
    const decoded = after.decoded - before.decoded;
    const dropped = after.dropped - before.dropped;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...o,
      faceFramesPerSecond: round(latencies.length / o.seconds, 1),
      latencyP50Ms: Math.round(quantile(sorted, 0.5)),
      latencyP95Ms: Math.round(quantile(sorted, 0.95)),
      dropRate: decoded > 0 ? round(dropped / decoded, 3) : 0,
      decodedShare: round(decoded / (nominalFps * o.seconds), 3),
      stages: stageTimes(before, after, latencies.length),
      loadAverage: round(loadavg()[0] ?? 0, 2),
    };
  } finally {
    sub.unsubscribe();
    await daemon.close();
  }
}

export interface PipelineBenchOptions {
  readonly seconds: number;
  readonly archs: readonly BenchArch[];
  readonly streams: readonly number[];
  readonly analysisFps: readonly (number | null)[];
  readonly members: number;
  /** `model.threads` values to compare (default [0]: the daemon's rule). */
  readonly threads?: readonly number[];
  /** `model.workers` values to compare (default [0]: the daemon's rule). */
  readonly workers?: readonly number[];
  /** `model.maxWaitMs` values to compare (default [15], the daemon's default). */
  readonly maxWaitMs?: readonly number[];
  /**
   * Times the whole grid runs, interleaved (every configuration once per round, the order reversed
   * every other round), so configurations compared on a shared machine see the same load.
   */
  readonly rounds?: number;
  /** `model.engine` of the daemon under test. */
  readonly engine?: EnginePreference;
  /** `model.device` and `detector.device` of the daemon under test. */
  readonly device?: DevicePreference;
  readonly backend: string;
  readonly json: boolean;
}

/** One line per run: throughput, latency, drops, then where the time went. */
export function formatRun(r: PipelineBenchRun, engine: string): string {
  const s = r.stages;
  return (
    `${r.arch.padEnd(12)} engine=${engine} members=${r.members} streams=${r.streams} analysisFps=${String(r.analysisFps ?? 'all').padEnd(4)} threads=${r.threads} workers=${r.workers} maxWaitMs=${r.maxWaitMs} ` +
    `${r.faceFramesPerSecond.toFixed(1).padStart(6)} face-frames/s  latency p50 ${r.latencyP50Ms} ms p95 ${r.latencyP95Ms} ms  drop rate ${(r.dropRate * 100).toFixed(1)}%  decoded ${(r.decodedShare * 100).toFixed(0)}% of source frames\n` +
    `    stages: decode ${s.decodeMs} ms/frame · detect ${s.detectMs} ms/frame · cnn ${s.cnnMsPerBatch} ms/batch of ${s.cnnBatchSize} (${s.cnnMsPerFace} ms/face) · gru ${s.gruMsPerBatch} ms/batch of ${s.gruBatchSize} · model busy ${(s.modelBusy * 100).toFixed(0)}% · process ${s.processCores} cores, ${s.cpuMsPerFaceFrame} CPU ms/face-frame · load ${r.loadAverage}`
  );
}

/**
 * Real-time streams of the shared media, looped, through the whole daemon with a full-width
 * CNN-RNN model of RANDOM weights (speed only: the outputs mean nothing and are not shown).
 */
export async function benchPipeline(o: PipelineBenchOptions): Promise<PipelineBenchRun[]> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'va-bench-pipeline-'));
  const runs: PipelineBenchRun[] = [];
  const engine = o.engine ?? 'auto';
  try {
    const dirs = new Map<BenchArch, string>();
    for (const arch of o.archs) {
      const dir = path.join(tmp, arch);
      await writeRandomModelDir(dir, {
        arch: arch === 'resnet50' ? 'resnet50-caffe' : 'compact',
        members: o.members,
        seqLen: 32,
        ...(arch === 'compact-half' ? { compactWidth: 0.5 } : {}),
      });
      dirs.set(arch, dir);
    }
    const grid: RunShape[] = [];
    for (const arch of o.archs)
      for (const streams of o.streams)
        for (const analysisFps of o.analysisFps)
          for (const threads of o.threads ?? [0])
            for (const workers of o.workers ?? [0])
              for (const maxWaitMs of o.maxWaitMs ?? [15]) grid.push({ arch, members: o.members, streams, analysisFps, threads, workers, maxWaitMs, seconds: o.seconds });
    for (let r = 0; r < (o.rounds ?? 1); r++) {
      for (const shape of r % 2 === 0 ? grid : [...grid].reverse()) {
        const run = await runOnce(dirs.get(shape.arch)!, shape, o.backend, engine, o.device ?? 'auto');
        runs.push(run);
        if (!o.json) console.log(formatRun(run, engine));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify(runs, null, 2));
  return runs;
}
