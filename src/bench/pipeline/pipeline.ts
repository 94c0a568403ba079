import { mkdtempSync, rmSync } from 'node:fs';
import type { DevicePreference } from '../../models/placement/placement.js';
import { tmpdir } from 'node:os';
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

export interface PipelineBenchRun {
  readonly arch: BenchArch;
  readonly members: number;
  readonly streams: number;
  readonly analysisFps: number | null;
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
}

/** Nominal frame rates of the clips the benchmark loops. */
const CLIP_FPS: Readonly<Record<string, number>> = { 'utterance_1.mp4': 29.97, 'single_face.mp4': 30, 'face_noface.mov': 30 };

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const sumMetric = async (registry: Registry, name: string): Promise<number> => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((s, v) => s + (v.value ?? 0), 0);
};

async function runOnce(
  model: string,
  o: Omit<PipelineBenchRun, 'faceFramesPerSecond' | 'latencyP50Ms' | 'latencyP95Ms' | 'dropRate' | 'decodedShare'>,
  backend: string,
  engine: EnginePreference,
  device: DevicePreference = 'auto',
): Promise<PipelineBenchRun> {
  const media = testMediaDir;
  const clips = ['utterance_1.mp4', 'single_face.mp4', 'face_noface.mov', 'utterance_1.mp4'];
  const config = configSchema.parse({
    backend,
    server: { port: 0 },
    log: { level: 'warn' },
    files: { roots: [media] },
    analysis: { analysisFps: o.analysisFps },
    model: { dir: model, stride: 8, engine, device },
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
    // Frames skipped by analysisFps were decoded too (and dropped before any conversion).
    const decodedNow = async (): Promise<number> => (await sumMetric(registry, 'va_frames_decoded_total')) + (await sumMetric(registry, 'va_frames_skipped_total'));
    const decoded0 = await decodedNow();
    const dropped0 = (await sumMetric(registry, 'va_frames_dropped_total')) + (await sumMetric(registry, 'va_affect_frames_dropped_total'));
    counting = true;
    await sleep(o.seconds * 1000);
    counting = false;
    const decoded = (await decodedNow()) - decoded0;
    const dropped = (await sumMetric(registry, 'va_frames_dropped_total')) + (await sumMetric(registry, 'va_affect_frames_dropped_total')) - dropped0;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...o,
      faceFramesPerSecond: Math.round((latencies.length / o.seconds) * 10) / 10,
      latencyP50Ms: Math.round(quantile(sorted, 0.5)),
      latencyP95Ms: Math.round(quantile(sorted, 0.95)),
      dropRate: decoded > 0 ? Math.round((dropped / decoded) * 1000) / 1000 : 0,
      decodedShare: Math.round((decoded / (nominalFps * o.seconds)) * 1000) / 1000,
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
  /** `model.engine` of the daemon under test. */
  readonly engine?: EnginePreference;
  /** `model.device` and `detector.device` of the daemon under test. */
  readonly device?: DevicePreference;
  readonly backend: string;
  readonly json: boolean;
}

/**
 * Real-time streams of the shared media, looped, through the whole daemon with a full-width
 * CNN-RNN model of RANDOM weights (speed only: the outputs mean nothing and are not shown).
 */
export async function benchPipeline(o: PipelineBenchOptions): Promise<PipelineBenchRun[]> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'va-bench-pipeline-'));
  const runs: PipelineBenchRun[] = [];
  try {
    for (const arch of o.archs) {
      const dir = path.join(tmp, arch);
      await writeRandomModelDir(dir, {
        arch: arch === 'resnet50' ? 'resnet50-caffe' : 'compact',
        members: o.members,
        seqLen: 32,
        ...(arch === 'compact-half' ? { compactWidth: 0.5 } : {}),
      });
      for (const streams of o.streams) {
        for (const fps of o.analysisFps) {
          const r = await runOnce(dir, { arch, members: o.members, streams, analysisFps: fps, seconds: o.seconds }, o.backend, o.engine ?? 'auto', o.device ?? 'auto');
          runs.push(r);
          if (!o.json) {
            console.log(
              `${arch.padEnd(12)} engine=${o.engine ?? 'auto'} members=${r.members} streams=${r.streams} analysisFps=${String(r.analysisFps ?? 'all').padEnd(4)} ` +
                `${r.faceFramesPerSecond.toFixed(1).padStart(6)} face-frames/s  latency p50 ${r.latencyP50Ms} ms p95 ${r.latencyP95Ms} ms  drop rate ${(r.dropRate * 100).toFixed(1)}%  decoded ${(r.decodedShare * 100).toFixed(0)}% of source frames`,
            );
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (o.json) console.log(JSON.stringify(runs, null, 2));
  return runs;
}
