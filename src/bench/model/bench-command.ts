/**
 * `daemon bench model`: frames/s of one seed ensemble member per requested TF.js backend, with
 * the per-stage times of `benchModel`. A backend that cannot start on this machine is reported
 * as unavailable (with the reason) instead of silently falling back to another one.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cpus } from 'node:os';
import { selectBackend, type BackendName } from '../../models/backend.js';
import { decidePlacement } from '../../models/placement/decide-placement.js';
import { sessionProviders, type DevicePreference } from '../../models/placement/placement.js';
import { probeGpus, probeOrt } from '../../models/placement/probe-host.js';
import { benchOnnx, type OnnxBenchResult } from './bench-onnx.js';
import { benchModel, type BenchResult } from './seed-bench.js';
import { packageRoot } from '../../paths.js';

export const BENCH_BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export type BenchBackendReport =
  | ({ readonly requested: string; readonly available: true; readonly engine?: 'tfjs' } & BenchResult)
  | ({ readonly requested: string; readonly available: true } & OnnxBenchResult)
  | ({ readonly requested: string; readonly available: true } & TorchBenchResult)
  | { readonly requested: string; readonly available: false; readonly error: string };

export interface TorchBenchResult {
  readonly engine: 'pytorch';
  readonly torch: string;
  readonly arch: string;
  readonly batch: number;
  readonly threads: number;
  readonly passes: number;
  readonly framesPerSecond: number;
}

export const BENCH_ENGINES = ['tfjs', 'onnx', 'onnx-int8'] as const;

/**
 * The ONNX Runtime rows' execution providers for `--device`, decided as the daemon decides (a
 * gpu that cannot be honoured makes the row unavailable, with what is missing).
 */
async function onnxProviders(engine: 'onnx' | 'onnx-int8', device: DevicePreference, threads: number): Promise<string[]> {
  const list = cpus();
  // Engine onnx is forced here: the TF.js side of the capabilities takes no part in the decision.
  const caps = { ort: await probeOrt(), tfjs: { backend: 'none', unavailable: [], gpuDevice: false }, gpus: probeGpus(), cpu: { name: list[0]?.model.trim() ?? '', cores: list.length } };
  return sessionProviders(decidePlacement({ model: `bench model (${engine})`, engine, device, threads, engines: ['onnx'] }, caps));
}
export const TORCH_SCRIPT = path.join(packageRoot, 'tools', 'bench_torch.py');
const PYTHON = '/usr/bin/python3';

export interface BenchModelCommandOptions {
  /** Where the ONNX Runtime rows run (absent: CUDA where its library is installed, else the CPU). */
  readonly device?: DevicePreference;
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly seconds: number;
  /** Backend names, `auto` (the daemon's own choice) or `all`. */
  readonly backends: readonly string[];
  readonly fold?: boolean;
  readonly seqLen?: number;
  /** Engines side by side in one run (default: tfjs only). */
  readonly engines?: readonly string[];
  /** Intra-op threads per ONNX Runtime session (0: one per core). */
  readonly threads?: number;
  /** Also run the PyTorch reference script (threads: `threads`, or 2). */
  readonly torch?: boolean;
}

export function expandBackends(requested: readonly string[]): ('auto' | BackendName)[] {
  const out: ('auto' | BackendName)[] = [];
  for (const r of requested) {
    const names = r === 'all' ? BENCH_BACKENDS : [r];
    for (const n of names) {
      if (n !== 'auto' && !BENCH_BACKENDS.includes(n as BackendName)) {
        throw new RangeError(`unknown backend ${JSON.stringify(n)} (use auto, all, ${BENCH_BACKENDS.join(', ')})`);
      }
      if (!out.includes(n as BackendName)) out.push(n as BackendName);
    }
  }
  return out;
}

async function benchTorch(o: BenchModelCommandOptions): Promise<BenchBackendReport> {
  const requested = 'pytorch';
  if (!existsSync(PYTHON) || !existsSync(TORCH_SCRIPT)) return { requested, available: false, error: `${PYTHON} or ${TORCH_SCRIPT} not found` };
  try {
    const args = [TORCH_SCRIPT, '--arch', o.arch, '--batch', String(o.batch), '--seconds', String(o.seconds), '--threads', String(o.threads || 2)];
    const { stdout } = await promisify(execFile)(PYTHON, args, { timeout: (o.seconds + 120) * 1000 });
    return { requested, available: true, ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as TorchBenchResult) };
  } catch (err) {
    return { requested, available: false, error: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

export async function benchModelCommand(o: BenchModelCommandOptions, onResult?: (r: BenchBackendReport) => void): Promise<BenchBackendReport[]> {
  const reports: BenchBackendReport[] = [];
  const engines = o.engines ?? ['tfjs'];
  for (const e of engines) if (!(BENCH_ENGINES as readonly string[]).includes(e)) throw new RangeError(`unknown engine ${JSON.stringify(e)} (use ${BENCH_ENGINES.join(', ')})`);
  const emit = (r: BenchBackendReport): void => {
    reports.push(r);
    onResult?.(r);
  };
  if (o.torch === true) emit(await benchTorch(o));
  for (const requested of engines.filter((e) => e.startsWith('onnx'))) {
    try {
      const precision = requested === 'onnx-int8' ? 'int8' : 'fp32';
      const providers = o.device === undefined ? undefined : await onnxProviders(requested === 'onnx-int8' ? 'onnx-int8' : 'onnx', o.device, o.threads ?? 0);
      const r = await benchOnnx({ arch: o.arch, batch: o.batch, seconds: o.seconds, threads: o.threads ?? 0, precision, ...(o.seqLen !== undefined ? { seqLen: o.seqLen } : {}), ...(providers !== undefined ? { providers } : {}) });
      emit({ requested, available: true, ...r });
    } catch (err) {
      emit({ requested, available: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (!engines.includes('tfjs')) return reports;
  for (const requested of expandBackends(o.backends)) {
    let report: BenchBackendReport;
    try {
      await selectBackend(requested);
    } catch (err) {
      report = { requested, available: false, error: err instanceof Error ? err.message : String(err) };
      reports.push(report);
      onResult?.(report);
      continue;
    }
    const r = await benchModel({
      arch: o.arch,
      batch: o.batch,
      seconds: o.seconds,
      backend: requested,
      ...(o.fold !== undefined ? { fold: o.fold } : {}),
      ...(o.seqLen !== undefined ? { seqLen: o.seqLen } : {}),
    });
    report = { requested, available: true, ...r };
    reports.push(report);
    onResult?.(report);
  }
  return reports;
}

/** frames/s of each report next to the PyTorch reference of the same run, when there is one. */
export function ratioToTorch(reports: readonly BenchBackendReport[]): { readonly requested: string; readonly framesPerSecond: number; readonly ratio: number }[] {
  const torch = reports.find((r) => r.available && 'engine' in r && r.engine === 'pytorch');
  if (!torch || !torch.available) return [];
  return reports.filter((r) => r.available && r !== torch).map((r) => {
    const fps = (r as { framesPerSecond: number }).framesPerSecond;
    return { requested: r.requested, framesPerSecond: fps, ratio: fps / torch.framesPerSecond };
  });
}

export function formatBenchReport(r: BenchBackendReport): string {
  if (!r.available) return `${r.requested}: unavailable (${r.error})`;
  if ('engine' in r && r.engine === 'pytorch') return `pytorch ${r.torch} (reference, ${r.threads} threads): ${r.arch} batch ${r.batch}: ${r.framesPerSecond.toFixed(1)} frames/s over ${r.passes} passes`;
  if ('engine' in r && r.engine === 'onnx') {
    return [
      `${r.requested} (ONNX Runtime ${r.precision}, ${r.providers.join('+')}, ${r.threads === 0 ? 'threads: one per core' : `${r.threads} threads`}): ${r.arch} batch ${r.batch} (BN folded): ${r.framesPerSecond.toFixed(1)} frames/s over ${r.passes} passes`,
      `  GRU heads ${r.gruWindowMs.toFixed(2)} ms per ${r.seqLen}-frame window; export ${r.exportMs.toFixed(0)} ms`,
      ...(r.agreement
        ? [`  agreement with fp32 (random weights and faces): max |Δlogit| ${r.agreement.maxLogitDiff.toFixed(4)}, EXPR argmax ${(100 * r.agreement.exprArgmaxAgreement).toFixed(0)} %, AU sign ${(100 * r.agreement.auSignAgreement).toFixed(1)} %`]
        : []),
    ].join('\n');
  }
  const s = r.stageMs;
  const perFrame = (ms: number): string => (ms / r.batch).toFixed(1);
  return [
    `${r.requested} → ${r.backend}: ${r.arch} batch ${r.batch}${r.fold ? ' (BN folded)' : ''}: ${r.framesPerSecond.toFixed(1)} frames/s over ${r.passes} passes`,
    `  backbone ${s.backbone.toFixed(1)} ms/batch (${perFrame(s.backbone)} ms/frame), heads ${s.heads.toFixed(2)} ms/batch, GRU heads ${s.gruWindow.toFixed(2)} ms per ${r.seqLen}-frame window`,
  ].join('\n');
}
