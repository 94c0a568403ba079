/**
 * `daemon run`: the daemon itself (src/main.ts). Its flags override the config; each default in
 * the help is the one the embedded config (or, with --config, the schema) applies.
 */
import { Option, type Command } from 'commander';
import { describeRunDefault, runFlagDefault } from '../config/run-defaults.js';
import type { RunOptions } from '../main.js';
import { backendOption, collect, configOption, deviceOption, engineOption, port, positiveInt, positiveNumber } from './options.js';

interface RunFlags {
  config?: string;
  host?: string;
  port?: number;
  fileRoot: string[];
  logLevel?: string;
  backend?: string;
  model?: string;
  engine?: string;
  device?: string;
  stride?: number;
  smoothing?: string;
  analysisFps?: number;
  token?: string;
}

/** Only the flags given: an absent one leaves the config's value. */
function runOptions(o: RunFlags): RunOptions {
  const { fileRoot, ...rest } = o;
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<RunFlags, 'fileRoot'>;
  return { ...given, ...(fileRoot.length > 0 ? { fileRoots: fileRoot } : {}) };
}

export function registerRun(program: Command): Command {
  return program
    .command('run')
    .description('run the daemon (HTTP API, WebSocket events, metrics)')
    .addOption(configOption('YAML config file (default: the embedded config/default.yaml)'))
    .option('--host <host>', `listen address (${describeRunDefault('host')})`)
    .option('--port <n>', `listen port (0 = any free port; ${describeRunDefault('port')})`, port)
    .addOption(new Option('--file-root <dir>', 'directory API-added file sources may read (repeatable; replaces files.roots)').argParser(collect).default([] as string[], runFlagDefault('fileRoot').schema))
    .addOption(new Option('--log-level <level>', `log level (${describeRunDefault('logLevel')})`).choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(backendOption(`TF.js backend (${describeRunDefault('backend')}; auto tries tensorflow-gpu, tensorflow, wasm in turn)`))
    .option('--model <dir|name>', `affect model directory, or the name of a model in the store (daemon models pull seed-cnn-rnn); enables affect events (${describeRunDefault('model', 'faces only')})`)
    .addOption(engineOption(`inference engine of the affect model (auto: ONNX Runtime where it loads; onnx-int8: quantised, opt-in; ${describeRunDefault('engine')})`))
    .addOption(deviceOption('where the face and affect models run: auto (a usable GPU, else the CPU), cpu, gpu (the daemon does not start without one); sets model.device and detector.device (default: the config\'s, auto)'))
    .option('--stride <n>', `new analysed frames between CNN-RNN windows per track (${describeRunDefault('stride')})`, positiveInt('--stride'))
    .addOption(new Option('--smoothing <kind>', `per-track smoothing of affect outputs (${describeRunDefault('smoothing')})`).choices(['off', 'ema', 'one-euro']))
    .option('--analysis-fps <n>', `frames analysed per second of stream time (${describeRunDefault('analysisFps')})`, positiveNumber)
    .option('--token <token>', 'bearer token required by the HTTP API and WebSocket (or env DAEMON_TOKEN)')
    .action(async (o: RunFlags) => {
      // The daemon's modules (TF.js, node-av, the servers) load when it runs, not for --help.
      const { runDaemon } = await import('../main.js');
      process.exitCode = await runDaemon(runOptions(o));
    });
}
