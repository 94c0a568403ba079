/**
 * The CLI actions of `import-seed`, `predict` and `bench model`: options in, exit code out.
 * Results go to files (or stdout for the benchmark); progress and errors go to stderr, so the
 * output stays machine-readable. Every failure is one `error [CODE]: message` line and exit 1.
 */
import { AnalyticsError } from '../core/errors.js';
import type { BackendPreference } from '../models/backend.js';
import { benchModelCommand, formatBenchReport, ratioToTorch } from '../bench/model/bench-command.js';
import { importSeedCommand } from '../import/import-command.js';
import { ensembleMembers } from '../models/seed/manifest.js';
import type { SeedWindowMode } from '../models/seed/seed-windows.js';
import { quietFfmpeg } from '../streams/open-source.js';
import { predict } from './predict.js';
import { defaultStoreDir, ModelStore, resolveModelRef } from '../import/store/model-store.js';

const stderr = (line: string): void => void process.stderr.write(line + '\n');

function report(err: unknown): number {
  const code = err instanceof AnalyticsError ? ` [${err.code}]` : '';
  stderr(`error${code}: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

export interface ImportSeedCliOptions {
  kind: 'cnn' | 'cnn-rnn';
  seqLen?: number;
  out: string;
  id?: string;
  roles?: string;
  auThresholds?: string;
  force?: boolean;
  source?: string;
  trainingData: string[];
  modelVersion?: string;
  ensembleWithTeacher?: boolean;
}

export async function importSeedCli(files: string[], o: ImportSeedCliOptions): Promise<number> {
  try {
    const roles = list(o.roles);
    const thresholds = list(o.auThresholds)?.map(Number);
    const m = await importSeedCommand({
      kind: o.kind,
      files,
      out: o.out,
      ...(o.seqLen !== undefined ? { seqLen: o.seqLen } : {}),
      ...(o.id !== undefined ? { id: o.id } : {}),
      ...(roles !== undefined ? { roles } : {}),
      ...(thresholds !== undefined ? { auThresholds: thresholds } : {}),
      force: o.force === true,
      ...(o.source !== undefined ? { source: o.source } : {}),
      trainingData: o.trainingData,
      ...(o.modelVersion !== undefined ? { version: o.modelVersion } : {}),
      ensembleWithTeacher: o.ensembleWithTeacher === true,
      warn: (l) => stderr(`warning: ${l}`),
    });
    const averaged = ensembleMembers(m);
    stderr(
      `imported ${m.members.length} ${m.kind} member(s) (${m.members.map((x) => `${x.name}:${x.role}`).join(', ')})${m.seqLen !== undefined ? `, seq_len ${m.seqLen}` : ''} → ${o.out}` +
        (averaged.length < m.members.length ? `; the ensemble averages the ${averaged.length} student(s), as the authors' --ensemble does (--ensemble-with-teacher to include the teacher)` : ''),
    );
    return 0;
  } catch (err) {
    return report(err);
  }
}

export interface PredictCliOptions {
  model: string;
  input: string;
  out?: string;
  render?: string;
  renderOnly?: boolean;
  members?: boolean;
  backend: BackendPreference;
  engine: 'auto' | 'onnx' | 'tfjs' | 'onnx-int8';
  threads: number;
  calibration?: string;
  compareFp32?: boolean;
  workers?: number;
  batch: number;
  config?: string;
  store?: string;
  windows: SeedWindowMode;
}

export async function predictCli(o: PredictCliOptions): Promise<number> {
  // The encoder's banner and statistics would bury the progress lines on stderr.
  if (o.render !== undefined) quietFfmpeg();
  try {
    const s = await predict({
      model: await resolveModelRef(o.model, new ModelStore(o.store ?? defaultStoreDir())),
      input: o.input,
      ...(o.out !== undefined ? { out: o.out } : {}),
      ...(o.render !== undefined ? { render: o.render } : {}),
      renderOnly: o.renderOnly === true,
      members: o.members === true,
      backend: o.backend,
      engine: o.engine,
      threads: o.threads,
      ...(o.calibration !== undefined ? { calibration: o.calibration } : {}),
      compareFp32: o.compareFp32 === true,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      batch: o.batch,
      windows: o.windows,
      ...(o.config !== undefined ? { config: o.config } : {}),
      progress: stderr,
    });
    stderr(`done: ${s.rows} row(s)${s.rendered ? `, ${s.rendered.frames} frame(s) rendered` : ''} from ${s.frames} ${s.input === 'video' ? 'frame(s)' : 'image(s)'} in ${s.seconds.toFixed(1)} s on ${s.engine}${s.workers > 0 ? ` × ${s.workers} workers` : ''} (TF.js backend ${s.backend})`);
    return 0;
  } catch (err) {
    return report(err);
  }
}

export interface BenchModelCliOptions {
  arch: 'resnet50' | 'compact';
  batch: number;
  seconds: number;
  backend: string;
  engine: string;
  threads: number;
  torch?: boolean;
  json?: boolean;
  fold: boolean;
}

export async function benchModelCli(o: BenchModelCliOptions): Promise<number> {
  try {
    const reports = await benchModelCommand(
      { arch: o.arch, batch: o.batch, seconds: o.seconds, backends: list(o.backend) ?? ['auto'], fold: o.fold, engines: list(o.engine) ?? ['tfjs'], threads: o.threads, torch: o.torch === true },
      o.json === true ? undefined : (r) => void process.stdout.write(formatBenchReport(r) + '\n'),
    );
    const ratios = ratioToTorch(reports);
    if (o.json === true) process.stdout.write(JSON.stringify(ratios.length > 0 ? { reports, ratioToPytorch: ratios } : reports, null, 2) + '\n');
    else for (const r of ratios) process.stdout.write(`${r.requested}: ${r.framesPerSecond.toFixed(1)} frames/s = ${r.ratio.toFixed(2)}× PyTorch\n`);
    // Unavailable backends are a result, not a failure, as long as one backend ran.
    return reports.some((r) => r.available) ? 0 : 1;
  } catch (err) {
    return report(err);
  }
}
