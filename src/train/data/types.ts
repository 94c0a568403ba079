/**
 * The contract between the data side of `daemon train` (readers, presets, samplers, images,
 * metrics) and the training loops. Both sides import only from here.
 */

/** The seed's task order (spec §2.1): classifier index 0 = EXPR, 1 = AU, 2 = VA. */
export type Task = 'EXPR' | 'AU' | 'VA';
export const TASKS: readonly Task[] = ['EXPR', 'AU', 'VA'];

/** One labelled face image. A sample carries only the labels its source provides. */
export interface LabelledFace {
  /** Absolute path of an aligned face image (JPEG/PNG/BMP). */
  readonly image: string;
  /** Video (or clip/subject) the frame belongs to; sequences for the CNN-RNN group by it. */
  readonly video?: string;
  /** 0-based frame index inside `video`. */
  readonly frame?: number;
  /** 8 values 0/1 in the seed's AU order (AU1, AU2, AU4, AU6, AU12, AU15, AU20, AU25). */
  readonly au?: readonly number[];
  /** 0..6 in the seed's EXPR order (Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise). */
  readonly expr?: number;
  /** [valence, arousal] in [-1, 1]. */
  readonly va?: readonly [number, number];
  /**
   * A teacher's EXPR probabilities for this face (seed order, summing to 1): the target of
   * distillation on unlabelled faces, where there is no ground truth.
   */
  readonly exprSoft?: readonly number[];
}

/** What a reader kept and what it skipped, and why (every reader returns one). */
export interface ReadReport {
  readonly source: string;
  readonly kept: number;
  readonly skipped: readonly { readonly reason: string; readonly count: number; readonly example?: string }[];
}

export interface TaskData {
  readonly task: Task;
  readonly train: readonly LabelledFace[];
  readonly val: readonly LabelledFace[];
  readonly reports: readonly ReadReport[];
}

/**
 * Draws the sample indices of one epoch. Deterministic in (seed, epoch): resuming recomputes the
 * same draw, so a sampler has no other state to save.
 */
export interface Sampler {
  readonly name: string;
  /** Indices into the task's `train` array for `epoch` (0-based); length = train.length unless stated. */
  epoch(epoch: number): Uint32Array;
  /** Statistics worth logging (class shares, IRLbl/MeanIR before and after, VA cell shares…). */
  readonly stats: Readonly<Record<string, unknown>>;
}

/** Augmentation of the training transform (spec §1.3, §9.1.2). */
export type Augmentation =
  | { readonly kind: 'none' } // the eval transform
  | { readonly kind: 'per-image'; readonly seed: number } // random crop + flip per image and epoch, as the seed intended
  | { readonly kind: 'fixed'; readonly v: number }; // the original's one draw for the whole run (faithful)

/**
 * Loads faces as the network's input: NHWC float32 [n, 112, 112, 3], RGB on the 0–255 scale minus
 * the seed's mean (spec §1.3), through the resize-134 + crop-112 transform (with augmentation).
 * `step` identifies the draw for per-image augmentation so that a resumed run repeats it.
 */
export type FaceBatchLoader = (faces: readonly LabelledFace[], augmentation: Augmentation, step: number) => Promise<Float32Array>;
