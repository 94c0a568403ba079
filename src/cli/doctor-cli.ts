/**
 * `daemon doctor`: what this host offers and what the daemon would use (src/cli/doctor.ts).
 * Human text by default, `--json` for scripts; exit 0 even when a model cannot be placed (the
 * report says why), 2 for an invalid config.
 */
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { configOption, jsonOption } from './options.js';
import { reportError } from './report-error.js';

interface DoctorFlags {
  config?: string;
  json?: boolean;
}

export function registerDoctor(program: Command): Command {
  return program
    .command('doctor')
    .description('what this host offers (FFmpeg, TF.js, ONNX Runtime, GPUs) and where each configured model would run, with reasons')
    .addOption(configOption('daemon config whose models, ports and file roots are checked (default: the embedded config/default.yaml)'))
    .addOption(jsonOption())
    .action(async (o: DoctorFlags) => {
      try {
        const [{ loadConfig }, { defaultConfigPath }, { doctor, doctorText }] = await Promise.all([import('../config/load.js'), import('../paths.js'), import('./doctor.js')]);
        const file = o.config ?? defaultConfigPath;
        const report = await doctor(loadConfig({ file }), file);
        process.stdout.write(o.json === true ? JSON.stringify(report, null, 2) + '\n' : doctorText(report));
        process.exitCode = 0;
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`daemon: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        process.exitCode = reportError(err);
      }
    });
}
