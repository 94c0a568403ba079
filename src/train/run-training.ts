/**
 * A whole `daemon train` run: the teacher (or an existing one), N students distilled from it,
 * the ensemble's AU thresholds, and the model directory. Every finished member is kept in the
 * run directory, and the phase in progress checkpoints there, so a killed run resumes where it
 * stopped.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tf, type Tensor } from '../models/tf.js';
import { SeedModel } from '../models/seed/model.js';
import { loadModelDir } from '../models/seed/model-dir.js';
import { saveModelDir } from '../models/seed/model-dir.js';
import { initSeedWeights } from '../models/seed/init.js';
import { ferplusInit } from './nets/ferplus-init.js';
import { exprOnlyTaskSpec, manifestProvidesAuVa, MANIFEST_FORMAT_VERSION, seedInputSpec, seedTaskSpec, type ModelManifest } from '../models/seed/manifest.js';
import type { SeedWeights } from '../models/seed/weights.js';
import type { Task } from './data/types.js';
import { TrainError } from './errors.js';
import { archDims, TrainableNet } from './nets/trainable-net.js';
import { readManifestFile, readMemberWeights } from './nets/member-weights.js';
import { readCheckpoint, removeFile, writeCheckpoint } from './loop/checkpoint.js';
import { evaluateEnsemble } from './loop/ensemble-eval.js';
import { permutationSampler } from './loop/labels.js';
import type { TrainEngine } from './engine/train-backend.js';
import { runPhase, type EpochRecord, type StepInfo, type TaskStream } from './loop/run-phase.js';
import { collectOutputs, type ValSet } from './loop/validate.js';
import { softEnsembleScores } from './loop/soft-scores.js';
import { videoWindows } from './data/sequence-windows.js';
import type { TrainPlan } from './plan.js';

export interface TrainEvents {
  readonly onStep?: (s: StepInfo) => void;
  readonly onEpoch?: (r: EpochRecord) => void;
  readonly onPhase?: (name: string, state: 'start' | 'done' | 'skipped') => void;
  readonly log?: (line: string) => void;
}

export interface TrainResult {
  readonly out: string;
  readonly manifest: ModelManifest;
  readonly history: readonly EpochRecord[];
}

export interface RunOptions {
  readonly resume: boolean;
  /** Who takes the CNN phases' gradients (default 'tfjs'); see engine/train-backend.ts. */
  readonly engine?: TrainEngine;
  /** Test hook: stop like a kill after this many steps of the run. */
  readonly abortAfterSteps?: number;
}

interface MemberMeta {
  readonly name: string;
  readonly bestEpoch: number;
  readonly scores: Record<string, number>;
  readonly history: EpochRecord[];
}

function planHash(plan: TrainPlan): string {
  return createHash('sha256').update(JSON.stringify(plan.record)).digest('hex').slice(0, 16);
}

async function prepareRunDir(plan: TrainPlan, resume: boolean): Promise<void> {
  await mkdir(plan.runDir, { recursive: true });
  const file = path.join(plan.runDir, 'plan.json');
  const hash = planHash(plan);
  let existing: { hash: string } | undefined;
  try {
    existing = JSON.parse(await readFile(file, 'utf8')) as { hash: string };
  } catch {
    existing = undefined;
  }
  const entries = await readdir(plan.runDir);
  if (!resume && entries.length > 0) {
    throw new TrainError(`${plan.runDir} already holds a run: pass --resume to continue it, or remove it`, { runDir: plan.runDir });
  }
  if (resume && existing !== undefined && existing.hash !== hash) {
    throw new TrainError(`${plan.runDir} holds a run with a different configuration; --resume needs the same one`, { runDir: plan.runDir });
  }
  await writeFile(file, JSON.stringify({ hash, record: plan.record }, null, 2) + '\n');
}

function toTensors(values: ReadonlyMap<string, Float32Array>, like: TrainableNet): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, v] of like.vars) {
    const d = values.get(n);
    if (d === undefined) throw new TrainError(`member weights lack ${n}`);
    out.set(n, tf.tensor(d, v.shape, 'float32'));
  }
  return out;
}

/** Streams and validation units of the run (per-face for the CNN, windows for the CNN-RNN). */
function buildData(plan: TrainPlan): { streams: TaskStream[]; val: ValSet[] } {
  const streams: TaskStream[] = [];
  const val: ValSet[] = [];
  for (const td of plan.data.tasks) {
    if (td.train.length === 0) continue;
    const seed = plan.seed * 31 + ['EXPR', 'AU', 'VA'].indexOf(td.task);
    if (plan.kind === 'cnn-rnn') {
      const units = videoWindows(td.train, plan.seqLen, Math.max(1, Math.floor(plan.seqLen / 2)));
      streams.push({ task: td.task, units, sampler: permutationSampler(units.length, seed) });
      if (td.val.length > 0) val.push({ task: td.task, units: videoWindows(td.val, plan.seqLen, plan.seqLen) });
    } else {
      const make = plan.data.samplers?.[td.task];
      streams.push({ task: td.task, units: td.train.map((f) => [f]), sampler: make !== undefined ? make(td.train) : permutationSampler(td.train.length, seed) });
      if (td.val.length > 0) val.push({ task: td.task, units: td.val.map((f) => [f]) });
    }
  }
  return { streams, val };
}

async function cnnWeightsFrom(dir: string, member: string | undefined): Promise<SeedWeights> {
  const w = await readMemberWeights(dir, member);
  if (w.kind === 'cnn') return w;
  // A CNN-RNN member holds the whole CNN too: drop its GRU heads.
  for (const [n, t] of w.weights) {
    if (n.startsWith('gru/')) {
      t.dispose();
      w.weights.delete(n);
    }
  }
  return { arch: w.arch, kind: 'cnn', dims: w.dims, weights: w.weights };
}

async function freshNet(plan: TrainPlan, seed: number): Promise<TrainableNet> {
  if (plan.kind === 'cnn-rnn') {
    if (plan.cnn === undefined) throw new TrainError('a cnn-rnn run needs cnn.dir (the trained CNN to freeze)');
    const cnn = await cnnWeightsFrom(plan.cnn.dir, plan.cnn.member);
    try {
      return TrainableNet.withFreshGru(cnn, seed);
    } finally {
      for (const t of cnn.weights.values()) t.dispose();
    }
  }
  const dims = archDims(plan.arch, plan.width);
  if (plan.init.from === 'random') return TrainableNet.random(plan.arch, 'cnn', dims, seed);
  if (plan.init.from === 'ferplus') {
    if (plan.arch !== 'resnet50-caffe') throw new TrainError(`init from ferplus needs arch resnet50-caffe (the FER+ backbone's), the run trains ${plan.arch}`);
    return TrainableNet.fromWeights(await ferplusInit(plan.init.file, seed));
  }
  const w = await cnnWeightsFrom(plan.init.dir, plan.init.member);
  if (w.arch !== plan.arch) {
    for (const t of w.weights.values()) t.dispose();
    throw new TrainError(`${plan.init.dir} is ${w.arch}, the run trains ${plan.arch}`);
  }
  if (plan.init.heads === 'fresh') {
    const fresh = initSeedWeights({ arch: w.arch, kind: 'cnn', dims: w.dims, seed, bn: 'identity' });
    for (const [n, t] of fresh.weights) {
      if (n.startsWith('heads/')) {
        w.weights.get(n)?.dispose();
        w.weights.set(n, t);
      } else t.dispose();
    }
  }
  return TrainableNet.fromWeights(w);
}

/**
 * Whether the written model may offer AU and VA: only when both were learnt, from labels or from a
 * teacher that provides them. A model offers both or neither (the manifest's rule), and a head
 * nothing taught is never published.
 */
export function learntAuVa(plan: TrainPlan, teacherAuVa: boolean): boolean {
  if (plan.data.softTeacher !== undefined) return false;
  const has = (t: Task): boolean => plan.data.tasks.some((td) => td.task === t && td.train.length > 0);
  if (!has('EXPR') && plan.teacher.from !== 'model-dir') throw new TrainError('no EXPR training data: every model provides expressions, so EXPR labels are required');
  const au = has('AU') || teacherAuVa;
  const va = has('VA') || teacherAuVa;
  if (au !== va) throw new TrainError(`${au ? 'AU' : 'VA'} training data without ${au ? 'VA' : 'AU'}: a model provides AU and VA together or neither; add the other task's data, or train on EXPR alone`);
  return au;
}

/** A model directory's member as the teacher of a run: `member`, else its teacher, else its first member. */
export async function loadTeacher(dir: string, member: string | undefined, kind: 'cnn' | 'cnn-rnn', tasks: TrainPlan['data']['tasks']): Promise<{ model: SeedModel; auVa: boolean }> {
  // Chosen from the whole manifest and loaded alone: the directory's ensemble may leave its teacher out.
  const manifest = await readManifestFile(dir);
  const spec = member !== undefined ? manifest.members.find((m) => m.name === member) : (manifest.members.find((m) => m.role === 'teacher') ?? manifest.members[0]);
  if (spec === undefined) throw new TrainError(`${dir}: no member ${member ?? ''}`);
  const ens = await loadModelDir(dir, { members: [spec.name] });
  if (ens.kind !== kind) {
    ens.dispose();
    throw new TrainError(`teacher ${dir} is a ${ens.kind} model, this run needs ${kind}`);
  }
  const auVa = manifestProvidesAuVa(ens.manifest);
  if (!auVa && tasks.some((td) => td.task !== 'EXPR' && td.train.length > 0)) {
    ens.dispose();
    throw new TrainError(`teacher ${dir} provides expressions only: its AU and VA heads were never trained, so it cannot teach them (distil EXPR data only, or use another teacher)`);
  }
  const pick = ens.members.find((m) => m.name === spec.name);
  if (pick === undefined) {
    ens.dispose();
    throw new TrainError(`${dir}: no member ${member ?? ''}`);
  }
  for (const m of ens.members) if (m !== pick) m.model.dispose();
  return { model: pick.model, auVa };
}

export async function runTraining(plan: TrainPlan, opts: RunOptions, ev: TrainEvents = {}): Promise<TrainResult> {
  await prepareRunDir(plan, opts.resume);
  const { streams, val } = buildData(plan);
  const logFile = path.join(plan.runDir, 'log.jsonl');
  const ckpt = path.join(plan.runDir, 'checkpoint.bin');
  const history: EpochRecord[] = [];
  let stepsLeft = opts.abortAfterSteps;
  const names = [...(plan.teacher.from === 'train' ? ['teacher'] : []), ...Array.from({ length: plan.students.count }, (_, k) => `student_${k}`)];
  const finished = new Map<string, Map<string, Float32Array>>();
  const metas = new Map<string, MemberMeta>();
  let teacher: SeedModel | undefined;
  const mode = plan.kind;

  const memberFile = (name: string): string => path.join(plan.runDir, `${name}.member`);
  try {
    // With soft labels the teacher already spoke (at data preparation); it may not even be a seed model.
    const soft = plan.data.softTeacher !== undefined;
    let teacherAuVa = false;
    if (plan.teacher.from === 'model-dir' && !soft) {
      const t = await loadTeacher(plan.teacher.dir, plan.teacher.member, plan.kind, plan.data.tasks);
      teacher = t.model;
      teacherAuVa = t.auVa;
    }
    // Checked before any training: a run that would publish untaught heads stops here.
    const auVa = learntAuVa(plan, teacherAuVa);
    for (const [k, name] of names.entries()) {
      const role = name === 'teacher' ? 'teacher' : 'student';
      const done = await readCheckpoint<MemberMeta>(memberFile(name));
      if (done !== undefined) {
        finished.set(name, new Map(done.tensors));
        metas.set(name, done.meta);
        history.push(...done.meta.history);
        ev.onPhase?.(name, 'skipped');
      } else {
        ev.onPhase?.(name, 'start');
        // Students are re-initialised, not copied from the teacher (spec §3.4).
        const net = await freshNet(plan, plan.seed * 7919 + k * 1009 + 1);
        try {
          const res = await runPhase({
            name,
            role,
            mode,
            net,
            ...(role === 'student' && teacher !== undefined ? { teacher } : {}),
            ...(soft ? { softLabels: true } : {}),
            streams,
            val,
            loader: plan.data.loader,
            augmentation: plan.augmentation,
            epochs: role === 'teacher' && plan.teacher.from === 'train' ? plan.teacher.epochs : plan.students.epochs,
            batch: plan.batch,
            seqLen: plan.seqLen,
            adam: plan.adam,
            schedule: plan.schedule,
            teacherWeights: plan.teacherWeights,
            studentLoss: plan.studentLoss,
            seed: plan.seed * 104_729 + k * 7,
            frozenBn: plan.frozenBn,
            ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
            checkpointFile: ckpt,
            checkpointEverySteps: plan.checkpointEverySteps,
            ...(ev.onStep !== undefined ? { onStep: ev.onStep } : {}),
            onEpoch: async (r) => {
              await writeFile(logFile, JSON.stringify({ time: new Date().toISOString(), ...r }) + '\n', { flag: 'a' });
              ev.onEpoch?.(r);
            },
            ...(stepsLeft !== undefined ? { abortAfterSteps: stepsLeft } : {}),
          });
          const meta: MemberMeta = { name, bestEpoch: res.bestEpoch, scores: { ...res.bestScores }, history: [...res.history] };
          await writeCheckpoint(memberFile(name), meta, res.best);
          await removeFile(ckpt);
          finished.set(name, new Map(res.best));
          metas.set(name, meta);
          history.push(...res.history);
          if (stepsLeft !== undefined) stepsLeft -= res.history.reduce((n, h) => n + h.steps, 0);
        } finally {
          net.dispose();
        }
        ev.onPhase?.(name, 'done');
      }
      if (name === 'teacher') {
        const best = finished.get('teacher');
        if (best === undefined) throw new Error('unreachable');
        const like = await freshNet(plan, 1);
        try {
          teacher = SeedModel.fromWeights({ arch: like.arch, kind: like.kind, dims: like.dims, weights: toTensors(best, like) });
        } finally {
          like.dispose();
        }
      }
    }
    return await exportRun(plan, finished, metas, val, history, auVa);
  } finally {
    teacher?.dispose();
  }
}

async function exportRun(
  plan: TrainPlan,
  finished: ReadonlyMap<string, Map<string, Float32Array>>,
  metas: ReadonlyMap<string, MemberMeta>,
  val: readonly ValSet[],
  history: readonly EpochRecord[],
  auVa: boolean,
): Promise<TrainResult> {
  const students = [...finished.keys()].filter((n) => n !== 'teacher');
  const memberNames = students.length === 0 || plan.ensembleWithTeacher ? [...finished.keys()] : students;
  const like = await freshNet(plan, 1);
  const weights = new Map<string, Map<string, Tensor>>();
  try {
    for (const n of memberNames) {
      const w = finished.get(n);
      if (w !== undefined) weights.set(n, toTensors(w, like));
    }
    // AU thresholds: the break-even search on the ensemble-mean probabilities (spec §6.2, fixed).
    const outputs = [];
    for (const n of memberNames) {
      const w = weights.get(n);
      if (w === undefined) continue;
      const model = SeedModel.fromWeights({ arch: like.arch, kind: like.kind, dims: like.dims, weights: new Map([...w].map(([k, t]) => [k, tf.clone(t)] as const)) });
      try {
        outputs.push(await collectOutputs(model, val, plan.data.loader, Math.max(1, Math.floor(64 / (plan.kind === 'cnn-rnn' ? plan.seqLen : 1))), plan.kind === 'cnn-rnn' ? plan.seqLen : undefined));
      } finally {
        model.dispose();
      }
    }
    const hasAuVal = val.some((v) => v.task === 'AU' && v.units.length > 0);
    const soft = plan.data.softTeacher;
    const ens =
      outputs.length === 0 || val.length === 0
        ? { thresholds: new Array<number>(8).fill(0.5), metrics: {} as Record<string, number> }
        : soft !== undefined
          ? { thresholds: [], metrics: { ...softEnsembleScores(outputs) } }
          : evaluateEnsemble(outputs);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(ens.metrics)) metrics[`ensemble.${k}`] = v;
    for (const [n, m] of metas) for (const [k, v] of Object.entries(m.scores)) metrics[`${n}.${k}`] = v;
    const manifest: ModelManifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      id: plan.id,
      version: new Date().toISOString().slice(0, 10),
      architecture: plan.arch,
      kind: plan.kind,
      input: seedInputSpec(),
      // Distilled from soft EXPR labels only: the AU and VA heads never learnt anything and are not offered.
      // Heads nothing taught (AU and VA without their data or a teacher for them) are not offered.
      tasks: !auVa ? exprOnlyTaskSpec() : seedTaskSpec(hasAuVal ? ens.thresholds : new Array<number>(8).fill(0.5)),
      ...(plan.kind === 'cnn-rnn' ? { seqLen: plan.seqLen } : {}),
      members: memberNames.map((name) => ({ name, role: name === 'teacher' ? ('teacher' as const) : ('student' as const), weights: `${name}.json` })),
      ...(students.length > 0 && memberNames.includes('teacher') ? { ensembleWithTeacher: true } : {}),
      provenance: {
        source:
          `trained by daemon train (${plan.kind}, ${plan.arch}${plan.arch === 'compact' ? ` width ${plan.width}` : ''}, seed ${plan.seed})` +
          (soft !== undefined ? `, distilled (KL at T = ${plan.studentLoss.temperature}, expressions only, no ground truth) from the teacher ${soft}` : !auVa ? ', expressions only (no AU / VA data or teacher)' : '') +
          '; hyper-parameters, per-epoch history and data reports in training.json',
        trainingData: [...plan.data.sources],
        metrics,
        createdAt: new Date().toISOString(),
        tool: 'affect-daemon train',
      },
    };
    await saveModelDir(plan.out, manifest, weights);
    const reports = plan.data.tasks.flatMap((t) => t.reports);
    await writeFile(
      path.join(plan.out, 'training.json'),
      JSON.stringify({ plan: plan.record, auThresholds: auVa ? ens.thresholds : [], metrics, members: [...metas.values()].map((m) => ({ name: m.name, bestEpoch: m.bestEpoch, scores: m.scores })), history, dataReports: reports }, null, 2) + '\n',
    );
    return { out: plan.out, manifest, history };
  } finally {
    like.dispose();
    for (const w of weights.values()) for (const t of w.values()) t.dispose();
  }
}

export type { Task };
