/**
 * `daemon train`: config in, model directory out, exit code back (0 done, 1 failed, 2 bad config).
 * The flags override the training config's keys of the same name.
 */
import { Option, type Command } from 'commander';
import { backendOption, configOption, engineOption, nonNegativeInt, positiveInt, positiveNumber } from '../cli/options.js';
import { reportError } from '../cli/report-error.js';
import { ConfigError } from '../core/errors.js';
import type { BackendPreference } from '../models/backend.js';
import type { AlignEvents } from './align/align-videos.js';
import type { TrainOverrides } from './config.js';

/** Plain progress lines for aligning and labelling unlabelled media. */
function alignProgress(err: (l: string) => void): AlignEvents {
  return {
    videoStarted: (video, i, n) => err(`align [${i + 1}/${n}] ${video}`),
    videoDone: (s) => err(`  ${s.video}: ${s.frames} frame(s), ${s.faces} face(s) aligned and labelled by the teacher`),
    videoSkipped: (video, reason) => err(`  ${video}: ${reason}`),
    videoFailed: (video, e) => err(`  ${video}: failed [${e.code}]: ${e.message} (left out; the others go on)`),
  };
}

interface TrainCliOptions extends TrainOverrides {
  readonly config: string;
  readonly resume?: boolean;
}

async function trainCli(o: TrainCliOptions): Promise<number> {
  const err = (l: string): void => void process.stderr.write(l + '\n');
  // The engines (TF.js, ONNX Runtime) load when the command runs, not for --help.
  const [{ loadTrainConfig }, { tensorCount }, { buildPlan }, { resolveTrainEngine, selectTrainingBackend }, { progressReporter }, { runTraining }] = await Promise.all([
    import('./config.js'),
    import('../models/backend.js'),
    import('./build-plan.js'),
    import('./engine/train-backend.js'),
    import('./progress.js'),
    import('./run-training.js'),
  ]);
  let config;
  try {
    config = loadTrainConfig(o.config, o);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`error [${e.code}]: ${o.config}: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const progress = progressReporter();
  try {
    const backend = await selectTrainingBackend(config.backend as BackendPreference);
    // CNN-RNN runs train GRU heads on TF.js only: no engine to choose (or to load).
    const engine = config.kind === 'cnn' ? await resolveTrainEngine(config.engine, backend) : 'tfjs';
    err(`training on the ${backend.name} backend${engine === 'onnx' ? ', CNN gradients on ONNX Runtime' : ''}`);
    const plan = await buildPlan(config, { log: err, align: alignProgress(err) });
    for (const t of plan.data.tasks) err(`${t.task}: ${t.train.length} training / ${t.val.length} validation faces`);
    const res = await runTraining(plan, { resume: o.resume === true, engine }, progress);
    progress.stop();
    const m = res.manifest.provenance.metrics ?? {};
    if (plan.data.softTeacher !== undefined) {
      err(`wrote ${res.out} (${res.manifest.members.length} member(s), expressions only); held-out agreement with the teacher ${(m['ensemble.agreement'] ?? NaN).toFixed(3)}, KL ${(m['ensemble.kl'] ?? NaN).toFixed(3)} nats; tensors ${tensorCount()}`);
      return 0;
    }
    err(`wrote ${res.out} (${res.manifest.members.length} member(s)); ensemble S ${(m['ensemble.S'] ?? NaN).toFixed(4)}; ${res.manifest.tasks.AU !== undefined ? `AU thresholds ${res.manifest.tasks.AU.thresholds.map((x) => x.toFixed(3)).join(',')}` : 'expressions only'}; tensors ${tensorCount()}`);
    return 0;
  } catch (e) {
    progress.stop();
    return reportError(e);
  }
}

export function registerTrain(program: Command): Command {
  return program
    .command('train')
    .description('train seed models (teacher, distilled students, CNN-RNN) into a model directory')
    .addOption(configOption('training config (see config/train.example.yaml)').makeOptionMandatory())
    .option('--epochs <n>', 'epochs of the teacher and of each student', positiveInt('--epochs'))
    .option('--batch <n>', 'faces (or sequences) per task batch', positiveInt('--batch'))
    .option('--students <n>', 'number of distilled students', nonNegativeInt('--students'))
    .addOption(new Option('--arch <arch>', 'backbone').choices(['compact', 'resnet50-caffe']))
    .option('--width <w>', 'compact backbone width multiplier', positiveNumber)
    .option('--out <dir>', 'model directory to write')
    .option('--seed <n>', 'random seed', nonNegativeInt('--seed'))
    .option('--resume', 'continue the run in the run directory (same config) from its last checkpoint')
    .addOption(backendOption())
    .addOption(engineOption('who takes the CNN gradients (auto: TF.js on native TensorFlow, else ONNX Runtime)', ['auto', 'tfjs', 'onnx']))
    .action(async (o: TrainCliOptions) => {
      process.exitCode = await trainCli(o);
    });
}
