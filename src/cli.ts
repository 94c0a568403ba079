import './core/polyfills.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runDaemon } from './main.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
};

const positiveInt =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number');
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
    .option('--model <dir>', 'affect model directory (daemon import-seed makes one); enables affect events')
    .option('--stride <n>', 'new analysed frames between CNN-RNN windows per track (default 8)', positiveInt('--stride'))
    .addOption(new Option('--smoothing <kind>', 'per-track smoothing of affect outputs (default off)').choices(['off', 'ema', 'one-euro']))
    .option('--analysis-fps <n>', 'frames analysed per second of stream time (default: every frame)', positiveNumber)
    .option('--token <token>', 'bearer token required by the HTTP API and WebSocket (or env DAEMON_TOKEN)')
    .action(
      async (o: {
        config?: string;
        host?: string;
        port?: number;
        fileRoot: string[];
        logLevel?: string;
        backend?: string;
        model?: string;
        stride?: number;
        smoothing?: string;
        analysisFps?: number;
        token?: string;
      }) => {
      process.exitCode = await runDaemon({
        ...(o.config !== undefined ? { config: o.config } : {}),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.fileRoot.length > 0 ? { fileRoots: o.fileRoot } : {}),
        ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
        ...(o.backend !== undefined ? { backend: o.backend } : {}),
        ...(o.model !== undefined ? { model: o.model } : {}),
        ...(o.stride !== undefined ? { stride: o.stride } : {}),
        ...(o.smoothing !== undefined ? { smoothing: o.smoothing } : {}),
        ...(o.analysisFps !== undefined ? { analysisFps: o.analysisFps } : {}),
        ...(o.token !== undefined ? { token: o.token } : {}),
      });
      },
    );

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

  const backendChoices = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

  bench
    .command('soak')
    .description('4 looped streams (files and RTSP) with a camera reboot every minute: memory, tensors, handles, event rate')
    .option('--minutes <n>', 'minutes to run', positiveInt('--minutes'), 10)
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { minutes: number; backend: string; json?: boolean }) => {
      const { benchSoak } = await import('./bench/soak.js');
      await benchSoak({ minutes: o.minutes, backend: o.backend, json: o.json === true });
    });

  bench
    .command('pipeline')
    .description('real-time streams through the whole daemon with a random-weight model: face-frames/s, latency, drops')
    .option('--seconds <s>', 'measured seconds per run (after 8 s of warm-up)', positiveInt('--seconds'), 30)
    .option('--arch <list>', 'compact, compact-half, resnet50', 'compact,resnet50')
    .option('--streams <list>', 'concurrent stream counts', '1,4')
    .option('--analysis-fps <list>', "analysis rates to try ('all' = every frame)", 'all,10')
    .option('--members <n>', 'ensemble members', positiveInt('--members'), 1)
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { seconds: number; arch: string; streams: string; analysisFps: string; members: number; backend: string; json?: boolean }) => {
      const { benchPipeline } = await import('./bench/pipeline.js');
      const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);
      await benchPipeline({
        seconds: o.seconds,
        archs: list(o.arch).map((a) => {
          if (a !== 'compact' && a !== 'compact-half' && a !== 'resnet50') throw new InvalidArgumentError(`--arch: unknown ${a}`);
          return a;
        }),
        streams: list(o.streams).map(Number),
        analysisFps: list(o.analysisFps).map((v) => (v === 'all' ? null : Number(v))),
        members: o.members,
        backend: o.backend,
        json: o.json === true,
      });
    });

  bench
    .command('expressions')
    .description('agreement, label stability and cost of expression models (each packaged member, their ensemble, more model dirs) on unlabelled face video')
    .requiredOption('--input <path>', 'video or image file, directory of them, or demo: (repeatable)', collect, [] as string[])
    .option('--model <dir>', 'model directory (repeatable; the first is the reference; default: config/models/packaged-teachers, both packaged classifiers)', collect, [] as string[])
    .option('--variants', 'add FFmpeg variants of each file (mirror, crop, half scale, darker, brighter)')
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(backendChoices).default('auto'))
    .option('--json', 'print JSON only')
    .action(async (o: { input: string[]; model: string[]; variants?: boolean; backend: string; json?: boolean }) => {
      const { benchExpressionsCli } = await import('./bench/expressions-cli.js');
      process.exitCode = await benchExpressionsCli(o);
    });

  program
    .command('import-seed')
    .description("import the seed's PyTorch checkpoints (one file per ensemble member) into a model directory")
    .argument('<files...>', '.pth state_dicts (zip or legacy serialisation)')
    .addOption(new Option('--kind <kind>', 'model kind').choices(['cnn', 'cnn-rnn']).makeOptionMandatory())
    .option('--seq-len <n>', 'CNN-RNN window length (default 32, the released models)', positiveInt('--seq-len'))
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--id <id>', 'model id (default seed-<kind>)')
    .option('--roles <list>', 'comma-separated teacher|student per file, in order (default all student)')
    .option('--au-thresholds <list>', '8 comma-separated AU thresholds (default: the released table for the kind/seq-len)')
    .option('--source <text>', 'provenance: where the checkpoints came from')
    .option('--training-data <text>', 'provenance: training data (repeatable)', collect, [] as string[])
    .option('--model-version <v>', 'model version recorded in the manifest (default 1)')
    .option('--force', 'replace an existing model directory')
    .action(async (files: string[], o: import('./predict/commands.js').ImportSeedCliOptions) => {
      const { importSeedCli } = await import('./predict/commands.js');
      process.exitCode = await importSeedCli(files, o);
    });

  program
    .command('predict')
    .description('offline predictions of a seed model directory on aligned face images or a video')
    .requiredOption('--model <dir>', 'model directory (manifest.json + weights)')
    .requiredOption('--input <path>', 'directory of aligned face images (one sequence, sorted by name) or a video file')
    .requiredOption('--out <file>', 'output file: .jsonl or .csv')
    .option('--members', 'add per-member outputs to each row')
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(backendChoices).default('auto'))
    .option('--batch <n>', 'faces per CNN batch and windows per GRU batch', positiveInt('--batch'), 8)
    .option('-c, --config <file>', 'daemon config whose analysis/detector/tracker settings a video uses')
    .action(async (o: import('./predict/commands.js').PredictCliOptions) => {
      const { predictCli } = await import('./predict/commands.js');
      process.exitCode = await predictCli(o);
    });

  bench
    .command('model')
    .description('frames/s and per-stage time of one seed model member (random weights) per backend')
    .addOption(new Option('--arch <arch>', 'backbone').choices(['resnet50', 'compact']).default('resnet50'))
    .option('--batch <n>', 'faces per batch', positiveInt('--batch'), 1)
    .option('--seconds <s>', 'seconds of timed passes per backend', positiveInt('--seconds'), 10)
    .option('--backend <list>', 'comma-separated backends, auto or all', 'auto')
    .option('--no-fold', 'do not fold BatchNorm into the convolutions')
    .option('--json', 'print JSON only')
    .action(async (o: import('./predict/commands.js').BenchModelCliOptions) => {
      const { benchModelCli } = await import('./predict/commands.js');
      process.exitCode = await benchModelCli(o);
    });
  return program;
}

await buildCli().parseAsync(process.argv);
