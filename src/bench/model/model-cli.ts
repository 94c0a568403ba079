/**
 * `daemon bench model`: frames/s of one seed model member (random weights) per backend and engine.
 * Reports go to stdout as they come (or as JSON at the end); an unavailable backend is a result,
 * not a failure, as long as one ran.
 */
import type { DevicePreference } from '../../models/placement/placement.js';
import { Option, type Command } from 'commander';
import { BACKENDS, choiceList, deviceOption, jsonOption, typedDefault, positiveInt, threadsOption } from '../../cli/options.js';
import { reportError } from '../../cli/report-error.js';
import type { BENCH_ENGINES } from './bench-command.js';

/** `auto`: the daemon's own choice; `all`: every TF.js backend in turn. */
const BACKEND_CHOICES = ['auto', 'all', ...BACKENDS.filter((b) => b !== 'auto')];
const ENGINE_CHOICES = ['tfjs', 'onnx', 'onnx-int8'] as const satisfies readonly (typeof BENCH_ENGINES)[number][];

interface BenchModelFlags {
  arch: 'resnet50' | 'compact';
  batch: number;
  seconds: number;
  backend: string[];
  engine: string[];
  device?: DevicePreference;
  threads: number;
  torch?: boolean;
  json?: boolean;
  fold: boolean;
}

async function benchModelCli(o: BenchModelFlags): Promise<number> {
  try {
    const { benchModelCommand, formatBenchReport, ratioToTorch } = await import('./bench-command.js');
    const reports = await benchModelCommand(
      { arch: o.arch, batch: o.batch, seconds: o.seconds, backends: o.backend, fold: o.fold, engines: o.engine, threads: o.threads, torch: o.torch === true, ...(o.device !== undefined ? { device: o.device } : {}) },
      o.json === true ? undefined : (r) => void process.stdout.write(formatBenchReport(r) + '\n'),
    );
    const ratios = ratioToTorch(reports);
    if (o.json === true) process.stdout.write(JSON.stringify(ratios.length > 0 ? { reports, ratioToPytorch: ratios } : reports, null, 2) + '\n');
    else for (const r of ratios) process.stdout.write(`${r.requested}: ${r.framesPerSecond.toFixed(1)} frames/s = ${r.ratio.toFixed(2)}× PyTorch\n`);
    return reports.some((r) => r.available) ? 0 : 1;
  } catch (err) {
    return reportError(err);
  }
}

export function registerBenchModel(bench: Command): Command {
  return bench
    .command('model')
    .description('frames/s and per-stage time of one seed model member (random weights) per backend')
    .addOption(new Option('--arch <arch>', 'backbone').choices(['resnet50', 'compact']).default('resnet50'))
    .option('--batch <n>', 'faces per batch', positiveInt('--batch'), 1)
    .option('--seconds <s>', 'seconds of timed passes per backend', positiveInt('--seconds'), 10)
    .addOption(typedDefault(new Option('--backend <list>', 'comma-separated TF.js backends, auto or all').argParser(choiceList('backend', BACKEND_CHOICES)), 'auto'))
    .addOption(typedDefault(new Option('--engine <list>', 'comma-separated engines side by side in one run: tfjs, onnx, onnx-int8 (static int8, agreement with fp32 reported)').argParser(choiceList('engine', ENGINE_CHOICES)), 'tfjs'))
    .addOption(deviceOption('where the ONNX Runtime rows run: auto, cpu, gpu (a row that cannot run there is reported unavailable with what is missing; default: CUDA where its library is installed, else the CPU); TF.js rows follow --backend'))
    .addOption(threadsOption('intra-op threads per ONNX Runtime session (0 = one per core)', 0))
    .option('--torch', 'also run the PyTorch reference (tools/bench_torch.py, /usr/bin/python3 with torch) in the same run')
    .option('--no-fold', 'do not fold BatchNorm into the convolutions')
    .addOption(jsonOption())
    .action(async (o: BenchModelFlags) => {
      process.exitCode = await benchModelCli(o);
    });
}
