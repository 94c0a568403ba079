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
import type { NamedTensorMap } from '../../models/tf.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../../models/tf.js';
import type { SeedModel } from '../../models/seed/model.js';
import { TASKS as SEED_TASKS } from '../../models/seed/constants.js';
import type { Augmentation, FaceBatchLoader, LabelledFace, Sampler, Task } from '../data/types.js';
import { TrainError } from '../errors.js';
import { Adam, lrAt, type AdamOptions, type AdamState, type LrSchedule } from '../adam.js';
import { klBatchmean, studentTaskLoss, teacherTaskLoss, type Logits3, type StudentLossOptions, type TaskLabels, type TeacherWeights } from '../losses.js';
import type { TrainableNet } from '../nets/trainable-net.js';
import { checkpointBound, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { labelsOf, softTargets } from './labels.js';
import { softScores } from './soft-scores.js';
import { summedGrads } from './summed-grads.js';
import { OnnxCnnStep } from '../engine/onnx-cnn-step.js';
import type { TrainEngine } from '../engine/train-backend.js';
import { disposeLogits, frozenLogits } from './teacher-model.js';
import { collectOutputs, scoreOutputs, type TaskScores, type ValSet } from './validate.js';

export interface TaskStream {
  readonly task: Task;
  /** CNN: one face per unit; CNN-RNN: a window of seqLen faces. */
  readonly units: readonly (readonly LabelledFace[])[];
  /** Draws unit indices per epoch. */
  readonly sampler: Sampler;
}

export interface EpochRecord {
  readonly phase: string;
  readonly epoch: number;
  readonly steps: number;
  readonly lr: number;
  readonly loss: number;
  readonly taskLoss: Readonly<Partial<Record<Task, number>>>;
  readonly val: TaskScores;
  readonly best: boolean;
  readonly seconds: number;
}

export interface StepInfo {
  readonly phase: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly taskLoss: Readonly<Partial<Record<Task, number>>>;
}

export interface PhaseOptions {
  readonly name: string;
  readonly role: 'teacher' | 'student';
  readonly mode: 'cnn' | 'cnn-rnn';
  readonly net: TrainableNet;
  /** The frozen teacher a student distils (eval mode). */
  readonly teacher?: SeedModel;
  /**
   * Distil from the faces' soft labels (`exprSoft`, a teacher's probabilities on unlabelled
   * faces) instead of a teacher run here: the loss is KL on EXPR alone, validation is agreement.
   */
  readonly softLabels?: boolean;
  readonly streams: readonly TaskStream[];
  readonly val: readonly ValSet[];
  readonly loader: FaceBatchLoader;
  readonly augmentation: Augmentation;
  readonly epochs: number;
  /** Units (faces or windows) per task batch. */
  readonly batch: number;
  readonly seqLen?: number;
  readonly adam: AdamOptions;
  readonly schedule: LrSchedule;
  readonly teacherWeights: TeacherWeights;
  readonly studentLoss: StudentLossOptions;
  /** Distinguishes the phases' random streams (dropout, augmentation). */
  readonly seed: number;
  /** CNN-RNN: run the frozen CNN's BN with running statistics and no dropout (false = the original's train-mode CNN). */
  readonly frozenBn: boolean;
  readonly checkpointFile: string;
  readonly checkpointEverySteps: number;
  readonly onStep?: (s: StepInfo) => void;
  readonly onEpoch?: (r: EpochRecord) => void | Promise<void>;
  /** Test hook: stop abruptly (as a kill would) once this many steps of the phase have run. */
  readonly abortAfterSteps?: number;
  /**
   * Who takes a CNN phase's gradients: TF.js's tape on the selected backend, or ONNX Runtime
   * (engine/onnx-cnn-step.ts; same losses, Adam, statistics). CNN-RNN phases train their GRU
   * heads on TF.js either way. Default 'tfjs'.
   */
  readonly engine?: TrainEngine;
}

export interface PhaseResult {
  readonly best: ReadonlyMap<string, Float32Array>;
  readonly bestEpoch: number;
  readonly bestScores: TaskScores;
  readonly history: readonly EpochRecord[];
}

export class TrainingAborted extends Error {}

interface PhaseMeta {
  readonly phase: string;
  readonly epoch: number;
  readonly step: number;
  readonly adamStep: number;
  readonly bestEpoch: number;
  readonly bestScores: TaskScores | null;
  readonly history: EpochRecord[];
  readonly sums: { loss: number; n: number; task: Partial<Record<Task, number>> };
}

const TASK_ORDER: readonly Task[] = SEED_TASKS;

interface TaskBatch {
  readonly task: Task;
  readonly x: Tensor4D;
  /** Ground truth, or with soft labels the teacher's log-probabilities [N, 7] as EXPR logits. */
  readonly labels: TaskLabels | { readonly task: 'soft'; readonly y: Tensor2D };
  readonly teacher?: Logits3;
  /** CNN-RNN: frozen-CNN features per task [B, T, hidden]. */
  readonly features?: { EXPR: Tensor3D; AU: Tensor3D; VA: Tensor3D };
}

function disposeBatch(b: TaskBatch): void {
  b.x.dispose();
  b.labels.y.dispose();
  if (b.teacher !== undefined) disposeLogits(b.teacher);
  if (b.features !== undefined) tf.dispose([b.features.EXPR, b.features.AU, b.features.VA]);
}

export async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const soft = o.softLabels === true;
  if (o.role === 'student' && o.teacher === undefined && !soft) throw new TrainError(`${o.name}: a student needs a teacher`);
  if (soft && o.role !== 'student') throw new TrainError(`${o.name}: soft labels train students only`);
  const streams = TASK_ORDER.map((t) => o.streams.find((s) => s.task === t)).filter((s): s is TaskStream => s !== undefined);
  if (streams.length === 0) throw new TrainError(`${o.name}: no labelled training data`);
  const seqLen = o.mode === 'cnn-rnn' ? (o.seqLen ?? 32) : 1;
  const scope = o.mode === 'cnn-rnn' ? 'gru' : 'all';
  const vars = o.net.trainable(scope);
  const names = o.net.trainableNames(scope);
  const adam = new Adam(new Map(names.map((n, i) => [n, vars[i] as tf.Variable] as const)), o.adam);

  let epoch = 0;
  let step = 0;
  let bestEpoch = -1;
  let bestScores: TaskScores | null = null;
  let best: Map<string, Float32Array> | undefined;
  const history: EpochRecord[] = [];
  let sums: PhaseMeta['sums'] = { loss: 0, n: 0, task: {} };

  // The optimizer's moments exist already: a checkpoint refused here must not leave them behind.
  try {
    // What save() writes: the net (its trainable variables and BN statistics, which are no larger
    // than the BN scales and offsets beside them: ≤ 2 × trainable), Adam's two moments of `vars`
    // and the best net, so at most 6 × the net's trainable floats. A bigger file is not ours.
    const trainableFloats = o.net.trainable('all').reduce((n, v) => n + v.size, 0);
    const resumed = await readCheckpoint<PhaseMeta>(o.checkpointFile, checkpointBound(6 * trainableFloats));
    if (resumed !== undefined && resumed.meta.phase === o.name) {
      const pick = (prefix: string): Map<string, Float32Array> =>
        new Map([...resumed.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v] as const));
      o.net.restore(pick('net:'));
      const st: AdamState = { step: resumed.meta.adamStep, m: pick('adam.m:'), v: pick('adam.v:') };
      adam.restore(st);
      epoch = resumed.meta.epoch;
      step = resumed.meta.step;
      bestEpoch = resumed.meta.bestEpoch;
      bestScores = resumed.meta.bestScores;
      history.push(...resumed.meta.history);
      sums = resumed.meta.sums;
      const b = pick('best:');
      if (b.size > 0) best = b;
    }
  } catch (err) {
    adam.dispose();
    throw err;
  }

  let onnxStep: OnnxCnnStep | undefined;
  const save = async (): Promise<void> => {
    onnxStep?.store(adam);
    const tensors = new Map<string, Float32Array>();
    for (const [k, v] of await o.net.snapshot()) tensors.set(`net:${k}`, v);
    const st = await adam.state();
    for (const [k, v] of st.m) tensors.set(`adam.m:${k}`, v);
    for (const [k, v] of st.v) tensors.set(`adam.v:${k}`, v);
    if (best !== undefined) for (const [k, v] of best) tensors.set(`best:${k}`, v);
    const meta: PhaseMeta = { phase: o.name, epoch, step, adamStep: st.step, bestEpoch, bestScores, history, sums };
    await writeCheckpoint(o.checkpointFile, meta, tensors);
  };

  let stepsRun = 0;
  try {
    if (o.engine === 'onnx' && o.mode === 'cnn') {
      onnxStep = await OnnxCnnStep.create(o.net, o.batch, streams.length);
      // Parameters, statistics and Adam's moments live in the step's arrays from here; save()
      // and validation write them back first.
      await onnxStep.load({ state: await adam.state(), options: o.adam });
    }
    while (epoch < o.epochs) {
      const t0 = Date.now();
      adam.lr = lrAt(o.adam.lr, epoch, o.schedule);
      const orders = streams.map((s) => s.sampler.epoch(epoch));
      const steps = Math.min(...orders.map((ord) => Math.floor(ord.length / o.batch)));
      if (steps === 0) throw new TrainError(`${o.name}: fewer than ${o.batch} training units in a task; lower the batch size`);
      while (step < steps) {
        if (o.abortAfterSteps !== undefined && stepsRun >= o.abortAfterSteps) throw new TrainingAborted(`${o.name}: aborted after ${stepsRun} steps`);
        const stepId = (epoch * 100_003 + step) * 8;
        const batches: TaskBatch[] = [];
        try {
          for (const [si, s] of streams.entries()) {
            const ord = orders[si] ?? new Uint32Array();
            const units = Array.from(ord.subarray(step * o.batch, (step + 1) * o.batch), (i) => s.units[i] ?? []);
            const faces = units.flat();
            const data = await o.loader(faces, o.augmentation, o.seed * 1_000_003 + stepId + TASK_ORDER.indexOf(s.task));
            // Labels first (a face without its label throws before any tensor exists), then the
            // batch is owned by `batches` as soon as it is built, so the finally below frees it.
            const labels = soft ? { task: 'soft' as const, y: softTargets(faces) } : labelsOf(s.task, faces);
            const x = tf.tensor4d(data, [faces.length, 112, 112, 3]);
            const batch: { -readonly [K in keyof TaskBatch]: TaskBatch[K] } = { task: s.task, x, labels };
            batches.push(batch);
            if (o.teacher !== undefined && !soft) batch.teacher = frozenLogits(o.teacher, x, o.mode === 'cnn-rnn' ? seqLen : undefined);
            if (o.mode === 'cnn-rnn') {
              batch.features = tf.tidy(() => {
                const f = o.net.cnn(x, { training: !o.frozenBn, dropoutSeed: o.seed + stepId }).features;
                const r = (t: Tensor2D): Tensor3D => tf.reshape(t, [units.length, seqLen, t.shape[1]]);
                return { EXPR: r(f.EXPR), AU: r(f.AU), VA: r(f.VA) };
              });
            }
          }
          const perTask: Tensor[] = [];
          const lossOf = (bi: number, logits: Logits3): tf.Scalar => {
            const b = batches[bi]!;
            const lb = b.labels;
            const l =
              lb.task === 'soft'
                ? klBatchmean(logits.EXPR, lb.y, o.studentLoss.temperature)
                : o.role === 'teacher'
                  ? teacherTaskLoss(logits[b.task], lb, o.teacherWeights)
                  : studentTaskLoss(logits, b.teacher ?? logits, lb, o.studentLoss);
            perTask.push(tf.keep(l));
            return l;
          };
          const scale = o.role === 'student' ? 1 / batches.length : 1;
          const dropoutSeed = (bi: number): number => o.seed + stepId + bi;
          // TF.js: one backward pass per task batch (summedGrads), a third of the memory of one pass
          // over the summed loss. ONNX Runtime: the task batches stacked, one forward and one backward.
          let loss: number;
          try {
            if (onnxStep !== undefined) {
              loss = await onnxStep.train({ count: batches.length, x: (bi) => batches[bi]!.x, term: lossOf, scale, dropoutSeed }, adam.lr);
            } else {
              const taken = await summedGrads(
                batches.length,
                (bi) => {
                  const b = batches[bi]!;
                  if (b.features === undefined) return lossOf(bi, o.net.cnn(b.x, { training: true, dropoutSeed: dropoutSeed(bi) }).logits);
                  const seq = o.net.gru(b.features);
                  const flat = (t: Tensor3D): Tensor2D => tf.reshape(t, [t.shape[0] * t.shape[1], t.shape[2]]);
                  return lossOf(bi, { EXPR: flat(seq.EXPR), AU: flat(seq.AU), VA: flat(seq.VA) });
                },
                vars,
                scale,
              );
              adam.apply(taken.grads);
              tf.dispose(Object.values(taken.grads));
              loss = taken.loss;
            }
          } catch (err) {
            tf.dispose(perTask);
            throw err;
          }
          const taskLoss: Partial<Record<Task, number>> = {};
          for (const [i, t] of perTask.entries()) {
            const task = batches[i]?.task;
            if (task !== undefined) taskLoss[task] = (await t.data())[0] ?? NaN;
            t.dispose();
          }
          if (!Number.isFinite(loss)) throw new TrainError(`${o.name}: loss is ${loss} at epoch ${epoch} step ${step}`);
          sums.loss += loss;
          sums.n += 1;
          for (const [t, v] of Object.entries(taskLoss)) sums.task[t as Task] = (sums.task[t as Task] ?? 0) + v;
          o.onStep?.({ phase: o.name, epoch, epochs: o.epochs, step, steps, loss, taskLoss });
        } finally {
          for (const b of batches) disposeBatch(b);
        }
        step += 1;
        stepsRun += 1;
        if (o.checkpointEverySteps > 0 && step % o.checkpointEverySteps === 0 && step < steps) await save();
      }
      onnxStep?.store(adam);
      const scores = o.val.length > 0 ? await validate(o, seqLen) : { S: -sums.loss / Math.max(1, sums.n) };
      const isBest = bestScores === null || (scores['S'] ?? -Infinity) > (bestScores['S'] ?? -Infinity);
      if (isBest) {
        bestScores = scores;
        bestEpoch = epoch;
        best = await o.net.snapshot();
      }
      const taskLoss: Partial<Record<Task, number>> = {};
      for (const [t, v] of Object.entries(sums.task)) taskLoss[t as Task] = v / Math.max(1, sums.n);
      const rec: EpochRecord = { phase: o.name, epoch, steps, lr: adam.lr, loss: sums.loss / Math.max(1, sums.n), taskLoss, val: scores, best: isBest, seconds: (Date.now() - t0) / 1000 };
      history.push(rec);
      sums = { loss: 0, n: 0, task: {} };
      epoch += 1;
      step = 0;
      await save();
      await o.onEpoch?.(rec);
    }
  } finally {
    adam.dispose();
    await onnxStep?.release();
  }
  if (best === undefined || bestScores === null) throw new TrainError(`${o.name}: no epoch completed`);
  return { best, bestEpoch, bestScores, history };
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
