/**
 * What a training phase is given and what it gives back (run-phase.ts runs it): the options, the
 * per-step and per-epoch progress it reports, and the best net it keeps.
 */
import type { SeedModel } from '../../models/seed/model.js';
import type { AdamOptions, LrSchedule } from '../adam.js';
import type { Augmentation, FaceBatchLoader, LabelledFace, Sampler, Task } from '../data/types.js';
import type { TrainEngine } from '../engine/train-backend.js';
import type { StudentLossOptions, TeacherWeights } from '../losses.js';
import type { TrainableNet } from '../nets/trainable-net.js';
import type { TaskScores, ValSet } from './validate.js';

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
