/**
 * The `daemon` command: one file per command, each registering itself next to what it runs
 * (src/cli/ for the daemon's own commands, the tools' commands in their folders). Every action
 * loads its modules when it runs, so `daemon --help` loads no engine.
 */
import './core/polyfills.js';
import { Command } from 'commander';
import { registerBench } from './bench/bench-cli.js';
import { registerDoctor } from './cli/doctor-cli.js';
import { registerEvents } from './cli/events-cli.js';
import { registerRun } from './cli/run-cli.js';
import { registerImportSeed } from './import/import-seed-cli.js';
import { addModelsCommands } from './import/models-cli.js';
import { registerPredict } from './predict/predict-cli.js';
import { registerAlign } from './train/align/align-cli.js';
import { registerTrain } from './train/train-cli.js';

export function buildCli(): Command {
  const program = new Command('daemon')
    .description('Real-time facial-affect analytics daemon')
    .showHelpAfterError()
    // Usage errors (bad flag values, unknown options) exit 2, like invalid configuration; the
    // message is already on stderr. Subcommands inherit this.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  // In the order `daemon --help` has always listed them.
  registerRun(program);
  registerEvents(program);
  registerBench(program);
  registerImportSeed(program);
  addModelsCommands(program);
  registerPredict(program);
  registerAlign(program);
  registerTrain(program);
  registerDoctor(program);
  return program;
}

await buildCli().parseAsync(process.argv);
