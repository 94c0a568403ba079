/**
 * `daemon bench model`: frames/s of one seed ensemble member per requested TF.js backend, with
 * the per-stage times of `benchModel`. A backend that cannot start on this machine is reported
 * as unavailable (with the reason) instead of silently falling back to another one.
 */
import { selectBackend, type BackendName } from '../models/backend.js';
import { benchModel, type BenchResult } from '../models/seed/index.js';

export const BENCH_BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export type BenchBackendReport =
  | ({ readonly requested: string; readonly available: true } & BenchResult)
  | { readonly requested: string; readonly available: false; readonly error: string };

export interface BenchModelCommandOptions {
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly seconds: number;
  /** Backend names, `auto` (the daemon's own choice) or `all`. */
  readonly backends: readonly string[];
  readonly fold?: boolean;
  readonly seqLen?: number;
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

export async function benchModelCommand(o: BenchModelCommandOptions, onResult?: (r: BenchBackendReport) => void): Promise<BenchBackendReport[]> {
  const reports: BenchBackendReport[] = [];
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

export function formatBenchReport(r: BenchBackendReport): string {
  if (!r.available) return `${r.requested}: unavailable (${r.error})`;
  const s = r.stageMs;
  const perFrame = (ms: number): string => (ms / r.batch).toFixed(1);
  return [
    `${r.requested} → ${r.backend}: ${r.arch} batch ${r.batch}${r.fold ? ' (BN folded)' : ''}: ${r.framesPerSecond.toFixed(1)} frames/s over ${r.passes} passes`,
    `  backbone ${s.backbone.toFixed(1)} ms/batch (${perFrame(s.backbone)} ms/frame), heads ${s.heads.toFixed(2)} ms/batch, GRU heads ${s.gruWindow.toFixed(2)} ms per ${r.seqLen}-frame window`,
  ].join('\n');
}
