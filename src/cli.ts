import './core/polyfills.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EVENT_TYPES } from './core/records.js';
import type { EnginePreference } from './models/engine/member-engine.js';
import { describeRunDefault, defaultEventsUrl, runFlagDefault } from './config/run-defaults.js';
import { runDaemon } from './main.js';
import { parseEventsUrl, parseEventTypes } from './transport/events-client.js';
import { addModelsCommands } from './import/models-cli.js';

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
const nonNegativeInt =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError(`${name} must be an integer from 0 to 256`);
    return n;
  };
const orUsageError = <T>(v: T | string): T => {
  if (typeof v === 'string') throw new InvalidArgumentError(v);
  return v;
};
const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number');
  return n;
};

export function buildCli(): Command {
  const program = new Command('daemon')
    .description('Real-time facial-affect analytics daemon')
    .showHelpAfterError()
    // Usage errors (bad flag values, unknown options) exit 2, like invalid configuration; the
    // message is already on stderr. Subcommands inherit this.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command('run')
    .description('run the daemon (HTTP API, WebSocket events, metrics)')
    .option('-c, --config <file>', 'YAML config file (default: the embedded config/default.yaml)')
    .option('--host <host>', `listen address (${describeRunDefault('host')})`)
    .option('--port <n>', `listen port (0 = any free port; ${describeRunDefault('port')})`, port)
    .addOption(new Option('--file-root <dir>', 'directory API-added file sources may read (repeatable; replaces files.roots)').argParser(collect).default([] as string[], runFlagDefault('fileRoot').schema))
    .addOption(new Option('--log-level <level>', `log level (${describeRunDefault('logLevel')})`).choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--backend <name>', `TF.js backend (${describeRunDefault('backend')}; auto tries tensorflow-gpu, tensorflow, wasm in turn)`).choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']))
    .option('--model <dir|name>', `affect model directory, or the name of a model in the store (daemon models pull seed-cnn-rnn); enables affect events (${describeRunDefault('model', 'faces only')})`)
    .addOption(new Option('--engine <name>', `inference engine of the affect model (auto: ONNX Runtime where it loads; onnx-int8: quantised, opt-in; ${describeRunDefault('engine')})`).choices(['auto', 'onnx', 'tfjs', 'onnx-int8']))
    .option('--stride <n>', `new analysed frames between CNN-RNN windows per track (${describeRunDefault('stride')})`, positiveInt('--stride'))
    .addOption(new Option('--smoothing <kind>', `per-track smoothing of affect outputs (${describeRunDefault('smoothing')})`).choices(['off', 'ema', 'one-euro']))
    .option('--analysis-fps <n>', `frames analysed per second of stream time (${describeRunDefault('analysisFps')})`, positiveNumber)
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
        engine?: string;
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
        ...(o.engine !== undefined ? { engine: o.engine } : {}),
        ...(o.stride !== undefined ? { stride: o.stride } : {}),
        ...(o.smoothing !== undefined ? { smoothing: o.smoothing } : {}),
        ...(o.analysisFps !== undefined ? { analysisFps: o.analysisFps } : {}),
        ...(o.token !== undefined ? { token: o.token } : {}),
      });
      },
    );

  program
    .command('events')
    .description("subscribe to a running daemon's WebSocket events and print one line per event until Ctrl-C")
    .addOption(new Option('--url <url>', "the daemon's event socket").argParser((v: string) => orUsageError(parseEventsUrl(v))).default(new URL(defaultEventsUrl()), defaultEventsUrl()))
    .option('--types <list>', `comma-separated event types (${EVENT_TYPES.join(', ')}; default: all)`, (v: string) => orUsageError(parseEventTypes(v)))
    .addOption(new Option('--stream <id>', 'only this stream (repeatable)').argParser(collect).default([] as string[], 'all'))
    .option('--token <token>', 'bearer token of the daemon (or env DAEMON_TOKEN); sent as a header')
    .addOption(new Option('--json', 'print each event as one JSON line, as sent (the default)').conflicts('pretty'))
    .addOption(new Option('--pretty', 'print a readable line per event: UTC time, stream, type, what it carries'))
    .action(async (o: import('./transport/events-command.js').EventsCliOptions) => {
      const { eventsCli } = await import('./transport/events-command.js');
      process.exitCode = await eventsCli(o);
    });

  const bench = program.command('bench').description('benchmarks that print figures');
  bench
    .command('faces')
    .description('decode + detect + align + track frames/s and per-stage time')
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option(
      '--engine <list>',
      'face-network engines side by side in one run (comma-separated: tfjs, onnx)',
      (v: string): ('tfjs' | 'onnx')[] => {
        const engines = v.split(',').map((e) => e.trim());
        const bad = engines.find((e) => e !== 'tfjs' && e !== 'onnx');
        if (bad !== undefined) throw new InvalidArgumentError(`unknown engine ${JSON.stringify(bad)} (tfjs, onnx)`);
        return engines as ('tfjs' | 'onnx')[];
      },
      ['tfjs', 'onnx'] as ('tfjs' | 'onnx')[],
    )
    .option('--threads <n>', 'intra-op threads per ONNX Runtime session', positiveInt('--threads'), 1)
    .option('--json', 'print JSON only')
    .action(async (o: { backend: string; engine: ('tfjs' | 'onnx')[]; threads: number; json?: boolean }) => {
      const { benchFaces } = await import('./bench/faces/faces.js');
      await benchFaces({ backend: o.backend, json: o.json === true, engines: o.engine, threads: o.threads });
    });

  const backendChoices = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

  bench
    .command('decode')
    .description("the daemon's decode path (decode + scale + RGB) against the ffmpeg command line on the same file: ms/frame and ratio")
    .option('--input <file>', 'video file (default test/fixtures/media/utterance_1.mp4)')
    .option('--width <w>', 'output width', positiveInt('--width'), 640)
    .option('--runs <n>', 'runs per side and thread setting (medians are reported)', positiveInt('--runs'), 5)
    .option('--json', 'print JSON only')
    .action(async (o: { input?: string; width: number; runs: number; json?: boolean }) => {
      const { benchDecode } = await import('./bench/decode/decode.js');
      await benchDecode({ ...(o.input !== undefined ? { input: o.input } : {}), width: o.width, runs: o.runs, json: o.json === true });
    });

  bench
    .command('soak')
    .description('4 looped streams (files and RTSP) with a camera reboot every minute: memory, tensors, handles, event rate')
    .option('--minutes <n>', 'minutes to run', positiveInt('--minutes'), 10)
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { minutes: number; backend: string; json?: boolean }) => {
      const { benchSoak } = await import('./bench/soak/soak.js');
      await benchSoak({ minutes: o.minutes, backend: o.backend, json: o.json === true });
    });

  bench
    .command('churn')
    .description('an operator\'s churn around a looped witness stream: streams added and removed, WebSocket clients, snapshots; memory, tensors, fds each minute')
    .option('--minutes <n>', 'minutes to run', positiveInt('--minutes'), 30)
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { minutes: number; backend: string; json?: boolean }) => {
      const { benchChurn } = await import('./bench/churn/churn.js');
      await benchChurn({ minutes: o.minutes, backend: o.backend, json: o.json === true });
    });

  bench
    .command('pipeline')
    .description('real-time streams through the whole daemon with a random-weight model: face-frames/s, latency, drops')
    .option('--seconds <s>', 'measured seconds per run (after 8 s of warm-up)', positiveInt('--seconds'), 30)
    .option('--arch <list>', 'compact, compact-half, resnet50', 'compact,resnet50')
    .option('--streams <list>', 'concurrent stream counts', '1,4')
    .option('--analysis-fps <list>', "analysis rates to try ('all' = every frame)", 'all,10')
    .option('--members <n>', 'ensemble members', positiveInt('--members'), 1)
    .addOption(new Option('--engine <name>', 'model.engine of the daemon under test').choices(['auto', 'onnx', 'tfjs', 'onnx-int8']).default('auto'))
    .option('--backend <name>', 'TF.js backend', 'auto')
    .option('--json', 'print JSON only')
    .action(async (o: { seconds: number; arch: string; streams: string; analysisFps: string; members: number; engine: string; backend: string; json?: boolean }) => {
      const { benchPipeline } = await import('./bench/pipeline/pipeline.js');
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
        engine: o.engine as EnginePreference,
        backend: o.backend,
        json: o.json === true,
      });
    });

  bench
    .command('sink')
    .description('events/s each broker sink sustains (starts local mosquitto, nats-server, redis-server on loopback)')
    .option('--events <n>', 'affect events per run', positiveInt('--events'), 20_000)
    .option('--kinds <list>', 'mqtt, nats, redis', 'mqtt,nats,redis')
    .option('--in-flight <list>', 'maxInFlight values to try', '1,64,256')
    .option('--json', 'print JSON only')
    .action(async (o: { events: number; kinds: string; inFlight: string; json?: boolean }) => {
      const { benchSink } = await import('./bench/sink/sink.js');
      const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);
      const kinds = list(o.kinds).map((k) => {
        if (k !== 'mqtt' && k !== 'nats' && k !== 'redis') throw new InvalidArgumentError(`--kinds: unknown ${k}`);
        return k;
      });
      await benchSink({ events: o.events, kinds, inFlight: list(o.inFlight).map(positiveInt('--in-flight')), json: o.json === true });
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
      const { benchExpressionsCli } = await import('./bench/expressions/expressions-cli.js');
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
    .option('--ensemble-with-teacher', 'average the teacher with the students (default: students only, as the authors)')
    .option('--force', 'replace an existing model directory')
    .action(async (files: string[], o: import('./predict/commands.js').ImportSeedCliOptions) => {
      const { importSeedCli } = await import('./predict/commands.js');
      process.exitCode = await importSeedCli(files, o);
    });

  addModelsCommands(program);

  program
    .command('predict')
    .description('offline predictions of a seed model directory on aligned face images or a video')
    .requiredOption('--model <dir|name>', 'model directory (manifest.json + weights), or the name of a model in the store (daemon models pull)')
    .option('--store <dir>', 'model store a --model name resolves in (default $XDG_DATA_HOME/affect-daemon/models)')
    .requiredOption('--input <path>', 'directory of aligned face images (one sequence, sorted by name) or a video file')
    .option('--out <file>', 'output file: .jsonl or .csv (required unless --render-only)')
    .option('--render <file>', 'also write the video annotated in the seed demo layout (.mp4, .mkv or .mov; audio copied)')
    .option('--render-only', 'write only the annotated video (no --out)')
    .option('--members', 'add per-member outputs to each row')
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(backendChoices).default('auto'))
    .addOption(new Option('--engine <name>', 'inference engine: auto (ONNX Runtime where it loads), onnx, tfjs, onnx-int8 (quantised CNN, opt-in)').choices(['auto', 'onnx', 'tfjs', 'onnx-int8']).default('auto'))
    .option('--calibration <dir>', 'onnx-int8: directory of aligned face crops to calibrate on (default: the photos shipped with @vladmandic/face-api)')
    .option('--compare-fp32', 'onnx-int8: also run fp32 ONNX Runtime and report the agreement (EXPR argmax, AU decisions, max |Δ| VA)')
    .option('--threads <n>', 'intra-op threads per ONNX Runtime session (0 = one per core, split between the workers)', nonNegativeInt('--threads'), 0)
    .option('--workers <n>', 'model worker threads sharing the CNN and GRU batches (default for a video: one per two cores; 1 = on the main thread)', positiveInt('--workers'))
    .option('--batch <n>', 'faces per CNN batch and windows per GRU batch', positiveInt('--batch'), 8)
    .addOption(
      new Option('--windows <mode>', 'CNN-RNN windows: complete (every frame gets a row) or authors (a sequence shorter than seq_len cut as the authors\' code does; its first frames get no row)')
        .choices(['complete', 'authors'])
        .default('complete'),
    )
    .option('-c, --config <file>', 'daemon config whose analysis/detector/tracker settings a video uses')
    .action(async (o: import('./predict/commands.js').PredictCliOptions) => {
      const { predictCli } = await import('./predict/commands.js');
      process.exitCode = await predictCli(o);
    });

  program
    .command('align')
    .description("the seed's face alignment for training data: aligned 112×112 crops per video and track (Aff-Wild2 cropped_aligned layout) plus landmarks CSV; resumable")
    .requiredOption('--input <path>', 'a video file, or a directory of video files')
    .requiredOption('--out <dir>', 'output directory (<video>[_<track>]/<frame:05d>.jpg, <video>.landmarks.csv)')
    .option('-c, --config <file>', 'daemon config whose analysis/detector/tracker/alignment settings apply')
    .option('--quality <n>', 'JPEG quality 1..100', positiveInt('--quality'), 95)
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(backendChoices).default('auto'))
    .action(async (o: import('./train/align/align-cli.js').AlignCliOptions) => {
      const { alignCli } = await import('./train/align/align-cli.js');
      process.exitCode = await alignCli(o);
    });

  bench
    .command('model')
    .description('frames/s and per-stage time of one seed model member (random weights) per backend')
    .addOption(new Option('--arch <arch>', 'backbone').choices(['resnet50', 'compact']).default('resnet50'))
    .option('--batch <n>', 'faces per batch', positiveInt('--batch'), 1)
    .option('--seconds <s>', 'seconds of timed passes per backend', positiveInt('--seconds'), 10)
    .option('--backend <list>', 'comma-separated TF.js backends, auto or all', 'auto')
    .option('--engine <list>', 'comma-separated engines side by side in one run: tfjs, onnx, onnx-int8 (static int8, agreement with fp32 reported)', 'tfjs')
    .option('--threads <n>', 'intra-op threads per ONNX Runtime session (0 = one per core)', nonNegativeInt('--threads'), 0)
    .option('--torch', 'also run the PyTorch reference (tools/bench_torch.py, /usr/bin/python3 with torch) in the same run')
    .option('--no-fold', 'do not fold BatchNorm into the convolutions')
    .option('--json', 'print JSON only')
    .action(async (o: import('./predict/commands.js').BenchModelCliOptions) => {
      const { benchModelCli } = await import('./predict/commands.js');
      process.exitCode = await benchModelCli(o);
    });
  program
    .command('train')
    .description("train seed models (teacher, distilled students, CNN-RNN) into a model directory")
    .requiredOption('-c, --config <file>', 'training config (see config/train.example.yaml)')
    .option('--epochs <n>', 'epochs of the teacher and of each student', positiveInt('--epochs'))
    .option('--batch <n>', 'faces (or sequences) per task batch', positiveInt('--batch'))
    .option('--students <n>', 'number of distilled students', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--students must be an integer ≥ 0');
      return n;
    })
    .addOption(new Option('--arch <arch>', 'backbone').choices(['compact', 'resnet50-caffe']))
    .option('--width <w>', 'compact backbone width multiplier', positiveNumber)
    .option('--out <dir>', 'model directory to write')
    .option('--seed <n>', 'random seed', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--seed must be an integer ≥ 0');
      return n;
    })
    .option('--resume', 'continue the run in the run directory (same config) from its last checkpoint')
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']))
    .addOption(new Option('--engine <name>', 'who takes the CNN gradients (auto: TF.js on native TensorFlow, else ONNX Runtime)').choices(['auto', 'tfjs', 'onnx']))
    .action(async (o: import('./train/cli.js').TrainCliOptions) => {
      const { trainCli } = await import('./train/cli.js');
      process.exitCode = await trainCli(o);
    });

  bench
    .command('train')
    .description('images/s of one teacher training step (forward, losses, backward, Adam) per backend, and PyTorch when present')
    .addOption(new Option('--arch <arch>', 'backbone').choices(['resnet50', 'compact']).default('compact'))
    .option('--width <w>', 'compact width multiplier', positiveNumber, 1)
    .option('--batch <n>', 'faces per task batch', positiveInt('--batch'), 20)
    .option('--seconds <s>', 'seconds per backend', positiveInt('--seconds'), 20)
    .option('--backend <list>', 'comma-separated engines: onnx (ONNX Runtime gradients) and TF.js backends', 'onnx,wasm')
    .option('--json', 'print JSON only')
    .action(async (o: { arch: 'resnet50' | 'compact'; width: number; batch: number; seconds: number; backend: string; json?: boolean }) => {
      const { benchTrain } = await import('./bench/train/bench-train.js');
      const reports = await benchTrain({ arch: o.arch, width: o.width, batch: o.batch, seconds: o.seconds, backends: o.backend.split(',').map((b) => b.trim()).filter(Boolean) });
      if (o.json === true) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else for (const r of reports) process.stdout.write(`${r.engine}: ${r.available ? `${r.imagesPerSecond?.toFixed(1)} images/s per training step (forward ${r.forwardImagesPerSecond?.toFixed(1)}, backward+Adam ${r.backwardImagesPerSecond?.toFixed(1)})` : `unavailable (${r.error ?? ''})`}\n`);
      process.exitCode = reports.some((r) => r.available) ? 0 : 1;
    });

  return program;
}

await buildCli().parseAsync(process.argv);
