/**
 * `daemon bench`: the benchmarks, one folder each under src/bench/ with its command next to what
 * it runs. Each loads its bench when it runs, not for --help.
 */
import type { Command } from 'commander';
import { registerBenchChurn } from './churn/churn-cli.js';
import { registerBenchDecode } from './decode/decode-cli.js';
import { registerBenchExpressions } from './expressions/expressions-cli.js';
import { registerBenchFaces } from './faces/faces-cli.js';
import { registerBenchModel } from './model/model-cli.js';
import { registerBenchPipeline } from './pipeline/pipeline-cli.js';
import { registerBenchSink } from './sink/sink-cli.js';
import { registerBenchSoak } from './soak/soak-cli.js';
import { registerBenchTrain } from './train/train-cli.js';

export function registerBench(program: Command): Command {
  const bench = program.command('bench').description('benchmarks that print figures');
  // In the order `daemon bench --help` has always listed them.
  for (const register of [registerBenchFaces, registerBenchDecode, registerBenchSoak, registerBenchChurn, registerBenchPipeline, registerBenchSink, registerBenchExpressions, registerBenchModel, registerBenchTrain]) register(bench);
  return bench;
}
