import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DevicePreference } from '../../models/placement/placement.js';
import { reportError } from '../../cli/report-error.js';
import { backendOption, choiceList, deviceOption, engineOption, jsonOption, typedDefault, listOf, nonNegativeInt, positiveInt, positiveNumber } from '../../cli/options.js';
import type { EnginePreference } from '../../models/ensemble/member-runner.js';
import type { BenchArch } from './pipeline.js';

/** An analysis rate: frames per second, or `all` (every frame, as null). */
const analysisRate = (v: string): number | null => {
  if (v === 'all') return null;
  try {
    return positiveNumber(v);
  } catch {
    throw new InvalidArgumentError(`analysis rate ${JSON.stringify(v)}: a positive number or all`);
  }
};

interface PipelineFlags {
  seconds: number;
  arch: BenchArch[];
  streams: number[];
  analysisFps: (number | null)[];
  members: number;
  threads: number[];
  workers: number[];
  maxWaitMs: number[];
  rounds: number;
  engine: EnginePreference;
  device: DevicePreference;
  backend: string;
  json?: boolean;
}

/** `daemon bench pipeline`: real-time streams through the whole daemon with a random-weight model. */
export function registerBenchPipeline(bench: Command): Command {
  return bench
    .command('pipeline')
    .description('real-time streams through the whole daemon with a random-weight model: face-frames/s, latency, drops')
    .option('--seconds <s>', 'measured seconds per run (after 8 s of warm-up)', positiveInt('--seconds'), 30)
    .addOption(typedDefault(new Option('--arch <list>', 'compact, compact-half, resnet50').argParser(choiceList('arch', ['compact', 'compact-half', 'resnet50'] satisfies BenchArch[])), 'compact,resnet50'))
    .addOption(typedDefault(new Option('--streams <list>', 'concurrent stream counts').argParser(listOf(positiveInt('--streams'))), '1,4'))
    .addOption(typedDefault(new Option('--analysis-fps <list>', "analysis rates to try ('all' = every frame)").argParser(listOf(analysisRate)), 'all,10'))
    .option('--members <n>', 'ensemble members', positiveInt('--members'), 1)
    .addOption(typedDefault(new Option('--threads <list>', 'model.threads values to compare (0: the daemon\'s rule)').argParser(listOf(nonNegativeInt('--threads'))), '0'))
    .addOption(typedDefault(new Option('--workers <list>', 'model.workers values to compare (0: the daemon\'s rule)').argParser(listOf(nonNegativeInt('--workers'))), '0'))
    .addOption(typedDefault(new Option('--max-wait-ms <list>', 'model.maxWaitMs values to compare (how long a batch waits for more requests)').argParser(listOf(nonNegativeInt('--max-wait-ms'))), '15'))
    .option('--rounds <n>', 'times the whole grid runs, interleaved (the order reversed every other round)', positiveInt('--rounds'), 1)
    .addOption(engineOption('model.engine of the daemon under test').default('auto'))
    .addOption(deviceOption('model.device and detector.device of the daemon under test (gpu: it does not start without one)').default('auto'))
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (o: PipelineFlags) => {
      try {
        const { benchPipeline } = await import('./pipeline.js');
        await benchPipeline({ seconds: o.seconds, archs: o.arch, streams: o.streams, analysisFps: o.analysisFps, members: o.members, threads: o.threads, workers: o.workers, maxWaitMs: o.maxWaitMs, rounds: o.rounds, engine: o.engine, device: o.device, backend: o.backend, json: o.json === true });
      } catch (err) {
        // A daemon under test that cannot start (e.g. --device gpu without one): one error line, exit 1.
        process.exitCode = reportError(err);
      }
    });
}
