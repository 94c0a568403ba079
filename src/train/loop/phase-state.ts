/**
 * Where a phase stands between steps, and its checkpoint: the net, Adam's moments and the best net
 * as tensors, the position and the running sums as meta. That is all a resumed phase needs to
 * continue bit for bit (everything else a step uses is a function of seed, phase, epoch and step).
 */
import type { Adam, AdamState } from '../adam.js';
import type { Task } from '../data/types.js';
import type { TrainableNet } from '../nets/trainable-net.js';
import { checkpointBound, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { EpochRecord } from './phase-options.js';
import type { TaskScores } from './validate.js';

/** The losses of the epoch's steps so far, summed, and how many steps they are. */
export interface LossSums {
  loss: number;
  n: number;
  task: Partial<Record<Task, number>>;
}

export interface PhaseState {
  epoch: number;
  /** Steps of `epoch` done. */
  step: number;
  bestEpoch: number;
  bestScores: TaskScores | null;
  best: Map<string, Float32Array> | undefined;
  readonly history: EpochRecord[];
  sums: LossSums;
}

/** The checkpoint's meta (the field order is the file's). */
interface PhaseMeta {
  readonly phase: string;
  readonly epoch: number;
  readonly step: number;
  readonly adamStep: number;
  readonly bestEpoch: number;
  readonly bestScores: TaskScores | null;
  readonly history: EpochRecord[];
  readonly sums: LossSums;
}

export interface PhaseCheckpoint {
  /** The phase's name: a checkpoint another phase wrote is a fresh start for this one. */
  readonly name: string;
  readonly net: TrainableNet;
  readonly checkpointFile: string;
}

export function emptySums(): LossSums {
  return { loss: 0, n: 0, task: {} };
}

/** The state in this phase's checkpoint, with the net and `adam` restored from it; else a fresh start. */
export async function resumePhase(c: PhaseCheckpoint, adam: Adam): Promise<PhaseState> {
  const state: PhaseState = { epoch: 0, step: 0, bestEpoch: -1, bestScores: null, best: undefined, history: [], sums: emptySums() };
  // What savePhase writes: the net (its trainable variables and BN statistics, which are no larger
  // than the BN scales and offsets beside them: ≤ 2 × trainable), Adam's two moments of the trained
  // variables and the best net, so at most 6 × the net's trainable floats. A bigger file is not ours.
  const trainableFloats = c.net.trainable('all').reduce((n, v) => n + v.size, 0);
  const resumed = await readCheckpoint<PhaseMeta>(c.checkpointFile, checkpointBound(6 * trainableFloats));
  if (resumed === undefined || resumed.meta.phase !== c.name) return state;
  const pick = (prefix: string): Map<string, Float32Array> =>
    new Map([...resumed.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v] as const));
  c.net.restore(pick('net:'));
  const st: AdamState = { step: resumed.meta.adamStep, m: pick('adam.m:'), v: pick('adam.v:') };
  adam.restore(st);
  state.epoch = resumed.meta.epoch;
  state.step = resumed.meta.step;
  state.bestEpoch = resumed.meta.bestEpoch;
  state.bestScores = resumed.meta.bestScores;
  state.history.push(...resumed.meta.history);
  state.sums = resumed.meta.sums;
  const b = pick('best:');
  if (b.size > 0) state.best = b;
  return state;
}

/** Writes the checkpoint `resumePhase` reads. `adam` must hold the live moments (the ONNX step's written back). */
export async function savePhase(c: PhaseCheckpoint, adam: Adam, s: PhaseState): Promise<void> {
  const tensors = new Map<string, Float32Array>();
  for (const [k, v] of await c.net.snapshot()) tensors.set(`net:${k}`, v);
  const st = await adam.state();
  for (const [k, v] of st.m) tensors.set(`adam.m:${k}`, v);
  for (const [k, v] of st.v) tensors.set(`adam.v:${k}`, v);
  if (s.best !== undefined) for (const [k, v] of s.best) tensors.set(`best:${k}`, v);
  const meta: PhaseMeta = { phase: c.name, epoch: s.epoch, step: s.step, adamStep: st.step, bestEpoch: s.bestEpoch, bestScores: s.bestScores, history: s.history, sums: s.sums };
  await writeCheckpoint(c.checkpointFile, meta, tensors);
}
