/**
 * One step's input: a batch per task (in the streams' order), each its faces as a tensor, its
 * labels, and what the step needs besides (a distilled student's teacher logits, the CNN-RNN's
 * frozen-CNN features). The caller owns the batches and frees them with `disposeBatch`.
 */
import { tf, type Tensor2D, type Tensor3D, type Tensor4D } from '../../models/tf.js';
import { TASKS as TASK_ORDER } from '../../models/seed/constants.js';
import type { Task } from '../data/types.js';
import type { Logits3, TaskLabels } from '../losses.js';
import { labelsOf, softTargets } from './labels.js';
import type { PhaseOptions, TaskStream } from './phase-options.js';
import { disposeLogits, frozenLogits } from './teacher-model.js';

export interface TaskBatch {
  readonly task: Task;
  readonly x: Tensor4D;
  /** Ground truth, or with soft labels the teacher's log-probabilities [N, 7] as EXPR logits. */
  readonly labels: TaskLabels | { readonly task: 'soft'; readonly y: Tensor2D };
  readonly teacher?: Logits3;
  /** CNN-RNN: frozen-CNN features per task [B, T, hidden]. */
  readonly features?: { EXPR: Tensor3D; AU: Tensor3D; VA: Tensor3D };
}

export interface BatchSource {
  readonly o: PhaseOptions;
  /** Distilling from the faces' soft labels (no teacher runs here). */
  readonly soft: boolean;
  /** Faces per unit: 1 for the CNN, the window length for the CNN-RNN. */
  readonly seqLen: number;
}

export function disposeBatch(b: TaskBatch): void {
  b.x.dispose();
  b.labels.y.dispose();
  if (b.teacher !== undefined) disposeLogits(b.teacher);
  if (b.features !== undefined) tf.dispose([b.features.EXPR, b.features.AU, b.features.VA]);
}

/** Step `step`'s batch of every stream (`orders[i]`: stream i's unit order this epoch). */
export async function loadTaskBatches(src: BatchSource, streams: readonly TaskStream[], orders: readonly Uint32Array[], step: number, stepId: number): Promise<TaskBatch[]> {
  const batches: TaskBatch[] = [];
  try {
    for (const [si, s] of streams.entries()) batches.push(await loadTaskBatch(src, s, orders[si] ?? new Uint32Array(), step, stepId));
    return batches;
  } catch (err) {
    for (const b of batches) disposeBatch(b);
    throw err;
  }
}

async function loadTaskBatch(src: BatchSource, s: TaskStream, order: Uint32Array, step: number, stepId: number): Promise<TaskBatch> {
  const { o } = src;
  const units = Array.from(order.subarray(step * o.batch, (step + 1) * o.batch), (i) => s.units[i] ?? []);
  const faces = units.flat();
  const data = await o.loader(faces, o.augmentation, o.seed * 1_000_003 + stepId + TASK_ORDER.indexOf(s.task));
  // Labels first: a face without its label throws before any tensor exists.
  const labels = src.soft ? { task: 'soft' as const, y: softTargets(faces) } : labelsOf(s.task, faces);
  let x: Tensor4D;
  try {
    x = tf.tensor4d(data, [faces.length, 112, 112, 3]);
  } catch (err) {
    labels.y.dispose();
    throw err;
  }
  const batch: { -readonly [K in keyof TaskBatch]: TaskBatch[K] } = { task: s.task, x, labels };
  try {
    if (o.teacher !== undefined && !src.soft) batch.teacher = frozenLogits(o.teacher, x, o.mode === 'cnn-rnn' ? src.seqLen : undefined);
    if (o.mode === 'cnn-rnn') batch.features = frozenCnnFeatures(src, x, units.length, stepId);
    return batch;
  } catch (err) {
    disposeBatch(batch);
    throw err;
  }
}

/** The CNN-RNN's input: the CNN's features of `windows` windows of seqLen faces, [windows, seqLen, hidden] per task. */
function frozenCnnFeatures(src: BatchSource, x: Tensor4D, windows: number, stepId: number): NonNullable<TaskBatch['features']> {
  const { o, seqLen } = src;
  return tf.tidy(() => {
    const f = o.net.cnn(x, { training: !o.frozenBn, dropoutSeed: o.seed + stepId }).features;
    const r = (t: Tensor2D): Tensor3D => tf.reshape(t, [windows, seqLen, t.shape[1]]);
    return { EXPR: r(f.EXPR), AU: r(f.AU), VA: r(f.VA) };
  });
}
