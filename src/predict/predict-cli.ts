/**
 * `daemon predict`: offline predictions of a model directory on aligned face images or a video.
 * Rows go to the --out file; progress and errors to stderr (one `error [CODE]: …` line, exit 1).
 */
import { Option, type Command } from 'commander';
import { backendOption, configOption, deviceOption, engineOption, positiveInt, storeOption, threadsOption, workersOption } from '../cli/options.js';
import { reportError } from '../cli/report-error.js';
import type { BackendPreference } from '../models/backend.js';
import type { EnginePreference } from '../models/ensemble/member-runner.js';
import type { DevicePreference } from '../models/placement/placement.js';
import type { SeedWindowMode } from '../models/seed/seed-windows.js';

interface PredictFlags {
  model: string;
  input: string;
  out?: string;
  render?: string;
  renderOnly?: boolean;
  members?: boolean;
  backend: BackendPreference;
  engine: EnginePreference;
  device: DevicePreference;
  threads: number;
  calibration?: string;
  compareFp32?: boolean;
  workers?: number;
  batch: number;
  config?: string;
  store?: string;
  windows: SeedWindowMode;
}

const stderr = (line: string): void => void process.stderr.write(line + '\n');

async function predictCli(o: PredictFlags): Promise<number> {
  try {
    // The model, the decoder and the encoder load when the command runs, not for --help.
    const [{ predict }, { defaultStoreDir, ModelStore, resolveModelRef }, { quietFfmpeg }] = await Promise.all([
      import('./predict.js'),
      import('../import/store/model-store.js'),
      import('../streams/open-source.js'),
    ]);
    // The encoder's banner and statistics would bury the progress lines on stderr.
    if (o.render !== undefined) quietFfmpeg();
    const s = await predict({
      model: await resolveModelRef(o.model, new ModelStore(o.store ?? defaultStoreDir())),
      input: o.input,
      ...(o.out !== undefined ? { out: o.out } : {}),
      ...(o.render !== undefined ? { render: o.render } : {}),
      renderOnly: o.renderOnly === true,
      members: o.members === true,
      backend: o.backend,
      engine: o.engine,
      device: o.device,
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
    return reportError(err);
  }
}

export function registerPredict(program: Command): Command {
  return program
    .command('predict')
    .description('offline predictions of a seed model directory on aligned face images or a video')
    .requiredOption('--model <dir|name>', 'model directory (manifest.json + weights), or the name of a model in the store (daemon models pull)')
    .addOption(storeOption('model store a --model name resolves in (default $XDG_DATA_HOME/affect-daemon/models)'))
    .requiredOption('--input <path>', 'directory of aligned face images (one sequence, sorted by name) or a video file')
    .option('--out <file>', 'output file: .jsonl or .csv (required unless --render-only)')
    .option('--render <file>', 'also write the video annotated in the seed demo layout (.mp4, .mkv or .mov; audio copied)')
    .option('--render-only', 'write only the annotated video (no --out)')
    .option('--members', 'add per-member outputs to each row')
    .addOption(backendOption().default('auto'))
    .addOption(engineOption('inference engine: auto (ONNX Runtime where it loads), onnx, tfjs, onnx-int8 (quantised CNN, opt-in)').default('auto'))
    .addOption(deviceOption().default('auto'))
    .option('--calibration <dir>', 'onnx-int8: directory of aligned face crops to calibrate on (default: the photos shipped with @vladmandic/face-api)')
    .option('--compare-fp32', 'onnx-int8: also run fp32 ONNX Runtime and report the agreement (EXPR argmax, AU decisions, max |Δ| VA)')
    .addOption(threadsOption('intra-op threads per ONNX Runtime session (0 = one per core, split between the workers)', 0))
    .addOption(workersOption('model worker threads sharing the CNN and GRU batches (default for a video: one per two cores; 1 = on the main thread)'))
    .option('--batch <n>', 'faces per CNN batch and windows per GRU batch', positiveInt('--batch'), 8)
    .addOption(
      new Option('--windows <mode>', 'CNN-RNN windows: complete (every frame gets a row) or authors (a sequence shorter than seq_len cut as the authors\' code does; its first frames get no row)')
        .choices(['complete', 'authors'])
        .default('complete'),
    )
    .addOption(configOption('daemon config whose analysis/detector/tracker settings a video uses'))
    .action(async (o: PredictFlags) => {
      process.exitCode = await predictCli(o);
    });
}
