/**
 * Validation of one model on the validation sets (eval transform, eval mode): collected logits
 * per task and the seed's scores (spec §6.1, computed by ../eval) with S = EXPR + AU(thr 0.5) +
 * CCC_v + CCC_a.
 */
import { tf, type Tensor2D } from '../../models/tf.js';
import type { SeedModel } from '../../models/seed/model.js';
import { AU_SELECTION_THRESHOLD } from '../../models/seed/constants.js';
import type { FaceBatchLoader, LabelledFace, Task } from '../data/types.js';
import type { MemberLogits } from '../eval/ensemble-outputs.js';
import { evaluateValidation, type TaskOutputs as EvalTaskOutputs, type ValidationInput, type ValidationScores } from '../eval/validation.js';
import { disposeLogits, frozenLogits } from './teacher-model.js';

export interface ValSet {
  readonly task: Task;
  /** CNN: one face per unit; CNN-RNN: windows of seqLen faces. */
  readonly units: readonly (readonly LabelledFace[])[];
}

export interface TaskOutputs {
  readonly task: Task;
  readonly faces: readonly LabelledFace[];
  /** Row-major [N, n] logits of this task's head. */
  readonly logits: Float32Array;
  readonly width: number;
}

export async function collectOutputs(model: SeedModel, sets: readonly ValSet[], loader: FaceBatchLoader, batchUnits: number, seqLen?: number): Promise<TaskOutputs[]> {
  const out: TaskOutputs[] = [];
  for (const set of sets) {
    const chunks: Float32Array[] = [];
    const faces: LabelledFace[] = [];
    let width = 0;
    for (let i = 0; i < set.units.length; i += batchUnits) {
      const batch = set.units.slice(i, i + batchUnits).flat();
      const data = await loader(batch, { kind: 'none' }, 0);
      const x = tf.tensor4d(data, [batch.length, 112, 112, 3]);
      const l = frozenLogits(model, x, seqLen);
      x.dispose();
      const t = l[set.task] as Tensor2D;
      width = t.shape[1];
      chunks.push((await t.data()) as Float32Array);
      disposeLogits(l);
      faces.push(...batch);
    }
    const logits = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      logits.set(c, off);
      off += c.length;
    }
    out.push({ task: set.task, faces, logits, width });
  }
  return out;
}

export interface TaskScores {
  readonly [metric: string]: number;
}

const MEMBER_LOGITS = { EXPR: 'expr', AU: 'au', VA: 'va' } as const satisfies Record<Task, keyof MemberLogits>;

/**
 * Collected outputs (`members[m]` = member m's, every member in the same task and face order) as
 * the evaluation's per-task input; tasks without validation faces are left out.
 */
export function validationInput(members: readonly (readonly TaskOutputs[])[]): ValidationInput {
  const input: { -readonly [T in Task]?: EvalTaskOutputs } = {};
  for (const [ti, o] of (members[0] ?? []).entries()) {
    if (o.faces.length === 0) continue;
    if (input[o.task] !== undefined) throw new RangeError(`two validation sets for ${o.task}`);
    input[o.task] = {
      faces: o.faces,
      members: members.map((m) => {
        const mo = m[ti];
        if (mo?.task !== o.task || mo.faces.length !== o.faces.length) throw new RangeError(`ensemble members' ${o.task} outputs do not line up`);
        return { [MEMBER_LOGITS[o.task]]: mo.logits };
      }),
    };
  }
  return input;
}

/** The scores as the epoch log and the manifest name them; S = 0 when nothing was validated. */
export function namedScores(v: ValidationScores): Record<string, number> {
  const s: Record<string, number> = {};
  if (v.expr) Object.assign(s, { expr_f1: v.expr.f1, expr_acc: v.expr.acc, expr_score: v.expr.score });
  if (v.au) Object.assign(s, { au_f1: v.au.f1, au_acc: v.au.acc, au_score: v.au.score });
  if (v.va) Object.assign(s, { ccc_valence: v.va.cccV, ccc_arousal: v.va.cccA });
  s['S'] = v.score ?? 0;
  return s;
}

/** One model's validation scores with the AU threshold of model selection (0.5, spec §3.4). */
export function scoreOutputs(outputs: readonly TaskOutputs[]): TaskScores {
  return namedScores(evaluateValidation(validationInput([outputs]), { auThresholds: AU_SELECTION_THRESHOLD }));
}
