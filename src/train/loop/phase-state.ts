/**
 * Where a phase stands between steps, and its checkpoint: the net, Adam's moments and the best net
 * as tensors, the position and the running sums as meta. That is all a resumed phase needs to
 * continue bit for bit (everything else a step uses is a function of seed, phase, epoch and step).
 */
import type { Adam, AdamState } from '../adam.js';
import type { Task } from '../data/types.js';
import { TrainError } from '../errors.js';
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
  const resumed = await readCheckpoint<unknown>(c.checkpointFile, checkpointBound(6 * trainableFloats));
  if (resumed === undefined) return state;
  const meta = phaseMeta(c.checkpointFile, resumed.meta);
  if (meta.phase !== c.name) return state;
  const pick = (prefix: string): Map<string, Float32Array> =>
    new Map([...resumed.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v] as const));
  c.net.restore(pick('net:'));
  const st: AdamState = { step: meta.adamStep, m: pick('adam.m:'), v: pick('adam.v:') };
  adam.restore(st);
  state.epoch = meta.epoch;
  state.step = meta.step;
  state.bestEpoch = meta.bestEpoch;
  state.bestScores = meta.bestScores;
  state.history.push(...meta.history);
  state.sums = meta.sums;
  const b = pick('best:');
  if (b.size > 0) state.best = b;
  return state;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The meta as savePhase writes it. The run directory is the user's: a meta of another shape would
 * otherwise resume at a position that is not one (a step of 'one' trains nothing and publishes the
 * untrained net) or fail on a TypeError. Scores are not checked: JSON writes a NaN score as null.
 */
function phaseMeta(file: string, meta: unknown): PhaseMeta {
  const bad = (field: string, what: string): never => {
    throw new TrainError(`${file}: corrupt checkpoint (${field} is not ${what})`, { file });
  };
  if (!isRecord(meta)) return bad('meta', 'an object');
  if (typeof meta['phase'] !== 'string') bad('meta.phase', 'a name');
  for (const k of ['epoch', 'step', 'adamStep']) if (!isCount(meta[k])) bad(`meta.${k}`, 'a count');
  if (!Number.isSafeInteger(meta['bestEpoch']) || (meta['bestEpoch'] as number) < -1) bad('meta.bestEpoch', 'an epoch or -1');
  if (meta['bestScores'] !== null && !isRecord(meta['bestScores'])) bad('meta.bestScores', 'scores or null');
  if (!Array.isArray(meta['history'])) bad('meta.history', 'a list of epochs');
  const sums = meta['sums'];
  if (!isRecord(sums) || typeof sums['loss'] !== 'number' || !isCount(sums['n']) || !isRecord(sums['task']) || !Object.values(sums['task']).every((v) => typeof v === 'number')) {
    bad('meta.sums', 'loss sums');
  }
  return meta as unknown as PhaseMeta;
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
