/**
 * One optimisation step on a step's task batches: each batch's task loss (the teacher's weighted
 * loss, the student's distillation loss, or KL to soft labels), summed (a student averages them),
 * its gradient, and one Adam update. Reports the summed loss and each task's own.
 */
import { tf, type Tensor, type Tensor2D, type Tensor3D } from '../../models/tf.js';
import type { Adam } from '../adam.js';
import type { Task } from '../data/types.js';
import type { OnnxCnnStep } from '../engine/onnx-cnn-step.js';
import { klBatchmean, studentTaskLoss, teacherTaskLoss, type Logits3 } from '../losses.js';
import type { TrainableNet } from '../nets/trainable-net.js';
import type { PhaseOptions } from './phase-options.js';
import { summedGrads } from './summed-grads.js';
import type { TaskBatch } from './task-batches.js';

export interface StepTrainer {
  readonly o: PhaseOptions;
  /** The variables the step trains (the CNN-RNN's GRU heads, or the whole CNN). */
  readonly vars: readonly tf.Variable[];
  readonly adam: Adam;
  /** Takes the gradients instead of TF.js's tape when the phase trains on ONNX Runtime. */
  readonly onnxStep: OnnxCnnStep | undefined;
}

export interface StepLoss {
  readonly loss: number;
  readonly taskLoss: Partial<Record<Task, number>>;
}

/** `term(i, logits)`: batch i's loss from the model's logits on it. */
type LossTerm = (bi: number, logits: Logits3) => tf.Scalar;

export async function trainStep(t: StepTrainer, batches: readonly TaskBatch[], stepId: number): Promise<StepLoss> {
  // Each batch's own loss is kept past the backward pass, to report it per task.
  const perTask: Tensor[] = [];
  const term: LossTerm = (bi, logits) => {
    const l = taskLoss(t.o, batches[bi]!, logits);
    perTask.push(tf.keep(l));
    return l;
  };
  let loss: number;
  try {
    loss = await descend(t, batches, term, stepId);
  } catch (err) {
    tf.dispose(perTask);
    throw err;
  }
  return { loss, taskLoss: await readTaskLosses(batches, perTask) };
}

function taskLoss(o: PhaseOptions, b: TaskBatch, logits: Logits3): tf.Scalar {
  const lb = b.labels;
  if (lb.task === 'soft') return klBatchmean(logits.EXPR, lb.y, o.studentLoss.temperature);
  return o.role === 'teacher' ? teacherTaskLoss(logits[b.task], lb, o.teacherWeights) : studentTaskLoss(logits, b.teacher ?? logits, lb, o.studentLoss);
}

/**
 * The gradient of the summed loss and the update; returns the summed loss. TF.js: one backward
 * pass per task batch (summedGrads), a third of the memory of one pass over the summed loss.
 * ONNX Runtime: the task batches stacked, one forward and one backward.
 */
async function descend(t: StepTrainer, batches: readonly TaskBatch[], term: LossTerm, stepId: number): Promise<number> {
  const scale = t.o.role === 'student' ? 1 / batches.length : 1;
  const dropoutSeed = (bi: number): number => t.o.seed + stepId + bi;
  if (t.onnxStep !== undefined) return t.onnxStep.train({ count: batches.length, x: (bi) => batches[bi]!.x, term, scale, dropoutSeed }, t.adam.lr);
  const taken = await summedGrads(batches.length, (bi) => term(bi, trainingLogits(t.o.net, batches[bi]!, dropoutSeed(bi))), t.vars, scale);
  try {
    t.adam.apply(taken.grads);
  } finally {
    tf.dispose(Object.values(taken.grads));
  }
  return taken.loss;
}

/** The training-mode logits of one batch, [N, n] per task (the CNN-RNN's flattened over its windows). */
function trainingLogits(net: TrainableNet, b: TaskBatch, dropoutSeed: number): Logits3 {
  if (b.features === undefined) return net.cnn(b.x, { training: true, dropoutSeed }).logits;
  const seq = net.gru(b.features);
  const flat = (x: Tensor3D): Tensor2D => tf.reshape(x, [x.shape[0] * x.shape[1], x.shape[2]]);
  return { EXPR: flat(seq.EXPR), AU: flat(seq.AU), VA: flat(seq.VA) };
}

/** Each batch's kept loss, read and released (the terms ran in batch order). */
async function readTaskLosses(batches: readonly TaskBatch[], perTask: readonly Tensor[]): Promise<Partial<Record<Task, number>>> {
  const taskLoss: Partial<Record<Task, number>> = {};
  try {
    for (const [i, l] of perTask.entries()) {
      const task = batches[i]?.task;
      if (task !== undefined) taskLoss[task] = (await l.data())[0] ?? NaN;
    }
  } finally {
    tf.dispose(perTask as Tensor[]);
  }
  return taskLoss;
}
