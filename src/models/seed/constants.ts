/**
 * Fixed facts of the seed models (Deng, Chen & Shi, FG 2020), spec §1.3 and §2.
 * Task order is the classifier index order of the released checkpoints and must not change.
 */

export const TASKS = ['EXPR', 'AU', 'VA'] as const;
export type TaskName = (typeof TASKS)[number];

/** Output width of each task's final Linear layer. */
export const TASK_OUTPUTS: Readonly<Record<TaskName, number>> = { EXPR: 7, AU: 8, VA: 40 };

export { AU_LABELS, EXPR_LABELS } from '../../core/affect-labels.js';
export const VA_LABELS = ['valence', 'arousal'] as const;

/** VA logits: columns [0, 20) are valence bins, [20, 40) arousal bins. */
export const VA_BINS = 20;

/**
 * Decoding centres linspace(-1, 1, 20). They are not the training-bin midpoints (spec §4.3),
 * but they are what the released models were evaluated with.
 */
export const VA_CENTRES: readonly number[] = Object.freeze(
  Array.from({ length: VA_BINS }, (_, k) => -1 + (2 * k) / (VA_BINS - 1)),
);

/** Per-channel RGB mean on the 0–255 scale (the FER+ ResNet-50 `meta.mean`); std is 1. */
export const MEAN_RGB = [131.0912, 103.8827, 91.4953] as const;

export const INPUT_SIZE = 112;
/** `Resize(int(112 * 1.2))`: shorter side to 134 before the centre crop. */
export const RESIZE_SIZE = 134;

export const BN_EPSILON = 1e-5;

/** Released AU thresholds (`api/config.py` Best_AU_Thresholds), applied to the ensemble-mean probability. */
export const AU_THRESHOLDS = {
  cnn: [0.1448537, 0.03918985, 0.13766725, 0.02652811, 0.40589422, 0.15572545, 0.04808964, 0.10848708],
  cnnRnnSeq32: [0.4253935, 0.02641966, 0.1119782, 0.02978198, 0.17256933, 0.06369855, 0.07433069, 0.13828614],
  cnnRnnSeq16: [0.30485213, 0.09509478, 0.59577084, 0.4417419, 0.4396544, 0.0452404, 0.05204154, 0.0633798],
  cnnRnnSeq8: [0.4365209, 0.10177602, 0.2649502, 0.22586018, 0.3772219, 0.07532539, 0.07667687, 0.04306327],
} as const satisfies Readonly<Record<string, readonly number[]>>;

export type AuThresholdTable = keyof typeof AU_THRESHOLDS;

/** Thresholds the seed used for model selection during training. */
export const AU_SELECTION_THRESHOLD = 0.5;

/** Sequence length of the released CNN-RNN models. */
export const RELEASED_SEQ_LEN = 32;

/** Width of the CNN heads' hidden layer and of the bidirectional GRU output (2 × 64). */
export const HEAD_HIDDEN = 128;
export const GRU_HIDDEN = 64;
