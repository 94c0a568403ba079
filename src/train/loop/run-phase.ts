/**
 * One training phase: the teacher (spec §3.1–3.2) or one distilled student (§3.3), of the CNN
 * or of the CNN-RNN's GRU heads. Each step draws one batch per task in the order EXPR, AU, VA,
 * runs each through the whole model, sums the task losses and takes one Adam step. The epoch
 * is as long as the shortest task; each epoch is validated and the best by S is kept.
 *
 * Everything a step depends on is a function of (seed, phase, epoch, step): sampler draws,
 * augmentation, dropout masks. So a checkpoint needs only the weights, the optimizer state and
 * the position to resume bit for bit.
 */
import { tf } from '../../models/tf.js';
import { TASKS as TASK_ORDER } from '../../models/seed/constants.js';
import type { Task } from '../data/types.js';
import { TrainError } from '../errors.js';
import { Adam, lrAt } from '../adam.js';
import { OnnxCnnStep } from '../engine/onnx-cnn-step.js';
import type { EpochRecord, PhaseOptions, PhaseResult, TaskStream } from './phase-options.js';
import { emptySums, resumePhase, savePhase, type PhaseState } from './phase-state.js';
import { softScores } from './soft-scores.js';
import { disposeBatch, loadTaskBatches, type BatchSource } from './task-batches.js';
import { trainStep, type StepTrainer } from './train-step.js';
import { collectOutputs, scoreOutputs, type TaskScores } from './validate.js';

export type { EpochRecord, PhaseOptions, PhaseResult, StepInfo, TaskStream } from './phase-options.js';

export class TrainingAborted extends Error {}

/** A running phase: what its steps share, and where it stands. */
interface PhaseRun extends BatchSource, StepTrainer {
  readonly streams: readonly TaskStream[];
  readonly state: PhaseState;
  /** Steps run by this call (resumed steps not counted), for `abortAfterSteps`. */
  stepsRun: number;
}

export async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const streams = phaseStreams(o);
  const scope = o.mode === 'cnn-rnn' ? 'gru' : 'all';
  const vars = o.net.trainable(scope);
  const names = o.net.trainableNames(scope);
  const adam = new Adam(new Map(names.map((n, i) => [n, vars[i] as tf.Variable] as const)), o.adam);
  let onnxStep: OnnxCnnStep | undefined;
  try {
    const state = await resumePhase(o, adam);
    onnxStep = await openOnnxStep(o, adam, streams.length);
    const run: PhaseRun = { o, soft: o.softLabels === true, seqLen: o.mode === 'cnn-rnn' ? (o.seqLen ?? 32) : 1, streams, vars, adam, onnxStep, state, stepsRun: 0 };
    while (state.epoch < o.epochs) await runEpoch(run);
    if (state.best === undefined || state.bestScores === null) throw new TrainError(`${o.name}: no epoch completed`);
    return { best: state.best, bestEpoch: state.bestEpoch, bestScores: state.bestScores, history: state.history };
  } finally {
    adam.dispose();
    await onnxStep?.release();
  }
}

/** The phase's task streams in the seed's task order, once the phase is known to be trainable. */
function phaseStreams(o: PhaseOptions): TaskStream[] {
  const soft = o.softLabels === true;
  if (o.role === 'student' && o.teacher === undefined && !soft) throw new TrainError(`${o.name}: a student needs a teacher`);
  if (soft && o.role !== 'student') throw new TrainError(`${o.name}: soft labels train students only`);
  const streams = TASK_ORDER.map((t) => o.streams.find((s) => s.task === t)).filter((s): s is TaskStream => s !== undefined);
  if (streams.length === 0) throw new TrainError(`${o.name}: no labelled training data`);
  return streams;
}

/** A CNN phase on ONNX Runtime: its training step, holding the parameters, statistics and Adam's moments from here. */
async function openOnnxStep(o: PhaseOptions, adam: Adam, taskBatches: number): Promise<OnnxCnnStep | undefined> {
  if (o.engine !== 'onnx' || o.mode !== 'cnn') return undefined;
  const step = await OnnxCnnStep.create(o.net, o.batch, taskBatches);
  try {
    await step.load({ state: await adam.state(), options: o.adam });
  } catch (err) {
    await step.release();
    throw err;
  }
  return step;
}

async function runEpoch(r: PhaseRun): Promise<void> {
  const { o, state } = r;
  const t0 = Date.now();
  r.adam.lr = lrAt(o.adam.lr, state.epoch, o.schedule);
  const orders = r.streams.map((s) => s.sampler.epoch(state.epoch));
  const steps = Math.min(...orders.map((ord) => Math.floor(ord.length / o.batch)));
  if (steps === 0) throw new TrainError(`${o.name}: fewer than ${o.batch} training units in a task; lower the batch size`);
  while (state.step < steps) {
    if (o.abortAfterSteps !== undefined && r.stepsRun >= o.abortAfterSteps) throw new TrainingAborted(`${o.name}: aborted after ${r.stepsRun} steps`);
    await runStep(r, orders, steps);
    state.step += 1;
    r.stepsRun += 1;
    // The epoch's end checkpoints anyway (closeEpoch).
    if (o.checkpointEverySteps > 0 && state.step % o.checkpointEverySteps === 0 && state.step < steps) await checkpoint(r);
  }
  await closeEpoch(r, steps, t0);
}

async function runStep(r: PhaseRun, orders: readonly Uint32Array[], steps: number): Promise<void> {
  const { o, state } = r;
  // Spaced by 8: a step's seeds add at most a task or batch index (< 8) to it, so no two steps share one.
  const stepId = (state.epoch * 100_003 + state.step) * 8;
  const batches = await loadTaskBatches(r, r.streams, orders, state.step, stepId);
  try {
    const { loss, taskLoss } = await trainStep(r, batches, stepId);
    if (!Number.isFinite(loss)) throw new TrainError(`${o.name}: loss is ${loss} at epoch ${state.epoch} step ${state.step}`);
    const sums = state.sums;
    sums.loss += loss;
    sums.n += 1;
    for (const [t, v] of Object.entries(taskLoss)) sums.task[t as Task] = (sums.task[t as Task] ?? 0) + v;
    o.onStep?.({ phase: o.name, epoch: state.epoch, epochs: o.epochs, step: state.step, steps, loss, taskLoss });
  } finally {
    for (const b of batches) disposeBatch(b);
  }
}

/** Validates the epoch's net, keeps it if it is the best so far, records the epoch and checkpoints. */
async function closeEpoch(r: PhaseRun, steps: number, t0: number): Promise<void> {
  const { o, state } = r;
  const { sums } = state;
  // Validation reads the net: on ONNX Runtime its parameters and statistics are the step's until written back.
  r.onnxStep?.store(r.adam);
  const scores = o.val.length > 0 ? await validate(o, r.seqLen) : { S: -sums.loss / Math.max(1, sums.n) };
  const isBest = state.bestScores === null || (scores['S'] ?? -Infinity) > (state.bestScores['S'] ?? -Infinity);
  if (isBest) {
    state.bestScores = scores;
    state.bestEpoch = state.epoch;
    state.best = await o.net.snapshot();
  }
  const taskLoss: Partial<Record<Task, number>> = {};
  for (const [t, v] of Object.entries(sums.task)) taskLoss[t as Task] = v / Math.max(1, sums.n);
  const rec: EpochRecord = { phase: o.name, epoch: state.epoch, steps, lr: r.adam.lr, loss: sums.loss / Math.max(1, sums.n), taskLoss, val: scores, best: isBest, seconds: (Date.now() - t0) / 1000 };
  state.history.push(rec);
  state.sums = emptySums();
  state.epoch += 1;
  state.step = 0;
  await checkpoint(r);
  await o.onEpoch?.(rec);
}

async function checkpoint(r: PhaseRun): Promise<void> {
  // On ONNX Runtime the live parameters and moments are the step's: written back before they are read.
  r.onnxStep?.store(r.adam);
  await savePhase(r.o, r.adam, r.state);
}

async function validate(o: PhaseOptions, seqLen: number): Promise<TaskScores> {
  const { SeedModel } = await import('../../models/seed/model.js');
  const model = SeedModel.fromWeights({ arch: o.net.arch, kind: o.net.kind, dims: o.net.dims, weights: o.net.exportWeights() });
  try {
    const outs = await collectOutputs(model, o.val, o.loader, Math.max(1, Math.floor(64 / seqLen)), o.mode === 'cnn-rnn' ? seqLen : undefined);
    return o.softLabels === true ? softScores(outs) : scoreOutputs(outs);
  } finally {
    model.dispose();
  }
}
