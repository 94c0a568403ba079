import './core/polyfills.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runDaemon } from './main.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
};

export function buildCli(): Command {
  const program = new Command('daemon').description('Real-time facial-affect analytics daemon').showHelpAfterError();

  program
    .command('run')
    .description('run the daemon (HTTP API, WebSocket events, metrics)')
    .option('-c, --config <file>', 'YAML config file (default: the embedded config/default.yaml)')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <n>', 'listen port (default 8080, 0 = any free port)', port)
    .option('--file-root <dir>', 'directory API-added file sources may read (repeatable)', collect, [] as string[])
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']))
    .action(async (o: { config?: string; host?: string; port?: number; fileRoot: string[]; logLevel?: string; backend?: string }) => {
      process.exitCode = await runDaemon({
        ...(o.config !== undefined ? { config: o.config } : {}),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.fileRoot.length > 0 ? { fileRoots: o.fileRoot } : {}),
        ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
        ...(o.backend !== undefined ? { backend: o.backend } : {}),
      });
    });

  const bench = program.command('bench').description('benchmarks that print figures');
  bench
    .command('faces')
    .description('decode + detect + align + track frames/s and per-stage time')
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { backend: string; json?: boolean }) => {
      const { benchFaces } = await import('./bench/faces.js');
      await benchFaces({ backend: o.backend, json: o.json === true });
    });
  return program;
}

await buildCli().parseAsync(process.argv);
