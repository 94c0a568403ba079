/**
 * `daemon train`: config in, model directory out, exit code back (0 done, 1 failed, 2 bad config).
 */
import { AnalyticsError, ConfigError } from '../core/errors.js';
import { tensorCount } from '../models/backend.js';
import type { AlignEvents } from './align/align-videos.js';
import { buildPlan } from './build-plan.js';
import { loadTrainConfig, type TrainOverrides } from './config.js';
import { resolveTrainEngine, selectTrainingBackend } from './engine/train-backend.js';
import { progressReporter } from './progress.js';
import { runTraining } from './run-training.js';
import type { BackendPreference } from '../models/backend.js';

/** Plain progress lines for aligning and labelling unlabelled media. */
function alignProgress(err: (l: string) => void): AlignEvents {
  return {
    videoStarted: (video, i, n) => err(`align [${i + 1}/${n}] ${video}`),
    videoDone: (s) => err(`  ${s.video}: ${s.frames} frame(s), ${s.faces} face(s) aligned and labelled by the teacher`),
    videoSkipped: (video, reason) => err(`  ${video}: ${reason}`),
    videoFailed: (video, e) => err(`  ${video}: failed [${e.code}]: ${e.message} (left out; the others go on)`),
  };
}

export interface TrainCliOptions extends TrainOverrides {
  readonly config: string;
  readonly resume?: boolean;
}

export async function trainCli(o: TrainCliOptions): Promise<number> {
  const err = (l: string): void => void process.stderr.write(l + '\n');
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
    const code = e instanceof AnalyticsError ? ` [${e.code}]` : '';
    err(`error${code}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
