/** A resolved training run: what `daemon train` does after its config is validated. */
import type { SeedArchitecture } from '../models/seed/architecture.js';
import type { AdamOptions, LrSchedule } from './adam.js';
import type { Augmentation, FaceBatchLoader, Sampler, Task, TaskData } from './data/types.js';
import type { StudentLossOptions, TeacherWeights } from './losses.js';

export type InitSource =
  | { readonly from: 'random' }
  /** Backbone (and heads with `heads: keep`) from a member of a model directory. */
  | { readonly from: 'model-dir'; readonly dir: string; readonly member?: string | undefined; readonly heads: 'fresh' | 'keep' }
  /**
   * The seed's own start (spec §3): the FER+ ResNet-50 backbone (`resnet50_ferplus_dag.pth`, a
   * file, a directory holding it, or a model-store name such as `ferplus-resnet50`), fresh heads.
   */
  | { readonly from: 'ferplus'; readonly file: string };

export interface TrainingData {
  readonly tasks: readonly TaskData[];
  /** Balancing sampler per task (CNN stage); tasks without one are shuffled. */
  readonly samplers?: Partial<Record<Task, (faces: TaskData['train']) => Sampler>>;
  readonly loader: FaceBatchLoader;
  /** Human-readable data sources for the manifest's provenance. */
  readonly sources: readonly string[];
  /**
   * Set when the faces are unlabelled and carry the teacher's soft EXPR labels (`exprSoft`): the
   * students learn from those alone (no ground truth, no AU / VA), described here for provenance.
   */
  readonly softTeacher?: string;
}

export interface TrainPlan {
  readonly out: string;
  /** Checkpoints, logs and finished members; `--resume` continues from here. */
  readonly runDir: string;
  readonly id: string;
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly arch: SeedArchitecture;
  /** Compact backbone width multiplier. */
  readonly width: number;
  readonly seed: number;
  readonly init: InitSource;
  /** CNN-RNN: the model directory whose CNN is imported and frozen. */
  readonly cnn?: { readonly dir: string; readonly member?: string | undefined };
  readonly teacher: { readonly from: 'train'; readonly epochs: number } | { readonly from: 'model-dir'; readonly dir: string; readonly member?: string | undefined };
  readonly students: { readonly count: number; readonly epochs: number };
  /** Include the teacher in the exported ensemble (default: students only, as run_pretrained_model). */
  readonly ensembleWithTeacher: boolean;
  readonly batch: number;
  readonly seqLen: number;
  readonly adam: AdamOptions;
  readonly schedule: LrSchedule;
  readonly teacherWeights: TeacherWeights;
  readonly studentLoss: StudentLossOptions;
  readonly frozenBn: boolean;
  readonly augmentation: Augmentation;
  readonly checkpointEverySteps: number;
  readonly data: TrainingData;
  /** Everything worth recording about the run (config, resolved options). */
  readonly record: Readonly<Record<string, unknown>>;
}
