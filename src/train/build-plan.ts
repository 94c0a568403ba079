/** Resolves a validated config into a TrainPlan: reads the data, picks loader and augmentation. */
import path from 'node:path';
import { readAffWild2 } from './data/aff-wild2.js';
import { facesFor, readManifest } from './data/manifest.js';
import { loadPreset, PRESET_TASK, type DatasetRoots } from './data/presets.js';
import { exprBalancedSampler, vaHistogramSampler } from './data/samplers.js';
import { mlRosSampler } from './data/ml-ros.js';
import type { Sampler } from './data/types.js';
import { createFaceBatchLoader } from './data/face-batch-loader.js';
import type { Augmentation, LabelledFace, ReadReport, Task, TaskData } from './data/types.js';
import type { TrainConfig } from './config.js';
import type { TrainPlan } from './plan.js';
import { loadConfig } from '../config/load.js';
import { FaceDetector } from '../models/face-detector/index.js';
import { quietFfmpeg } from '../streams/open-source.js';
import { checkVideoNames, type AlignEvents } from './align/align-videos.js';
import { loadTeacherLabeller } from './distill/teacher-labeller.js';
import { mediaFiles, prepareUnlabelled } from './distill/unlabelled.js';
import { TrainError } from './errors.js';

function merge(task: Task, parts: readonly TaskData[]): TaskData {
  const train: LabelledFace[] = [];
  const val: LabelledFace[] = [];
  const reports: ReadReport[] = [];
  for (const p of parts) {
    train.push(...p.train);
    val.push(...p.val);
    reports.push(...p.reports);
  }
  return { task, train, val, reports };
}

export interface BuildPlanEvents {
  /** Progress of aligning and labelling unlabelled media. */
  readonly align?: AlignEvents;
  readonly log?: (line: string) => void;
}

/** The teacher's soft labels on every unlabelled source (one detector and one teacher for all). */
async function readUnlabelled(
  c: TrainConfig,
  sources: readonly Extract<TrainConfig['data']['sources'][number], { kind: 'unlabelled' }>[],
  ev: BuildPlanEvents,
): Promise<{ parts: { data: TaskData; what: string }[]; teacher: string; teacherKey: string }> {
  if (c.teacher.from !== 'model-dir') throw new TrainError('unlabelled data needs teacher.from: model-dir');
  quietFfmpeg();
  const config = loadConfig({ env: {} });
  // Every set shares one cache that keeps faces by file name: names are checked across all of them
  // (a held-out file named like a training file would silently share its faces).
  const listed = [];
  for (const s of sources) listed.push({ s, train: await mediaFiles(s.inputs), val: await mediaFiles(s.val) });
  checkVideoNames(listed.flatMap((l) => [...l.train, ...l.val]), 'training and held-out media');
  const teacher = await loadTeacherLabeller(c.teacher.dir);
  let detector: FaceDetector | undefined;
  try {
    ev.log?.(`teacher ${teacher.description}`);
    detector = await FaceDetector.load();
    const parts: { data: TaskData; what: string }[] = [];
    for (const { s, train: trainFiles, val: valFiles } of listed) {
      const every = c.kind === 'cnn' ? s.every : 1;
      const o = { detector, config, teacher, ...(ev.align !== undefined ? { events: ev.align } : {}) };
      const train = await prepareUnlabelled({ files: trainFiles, cache: s.cache, every }, `unlabelled ${s.inputs.join(', ')}`, o);
      const val = valFiles.length > 0 ? await prepareUnlabelled({ files: valFiles, cache: s.cache, every }, `held out ${s.val.join(', ')}`, o) : undefined;
      parts.push({
        data: { task: 'EXPR', train: train.faces, val: val?.faces ?? [], reports: [train.report, ...(val !== undefined ? [val.report] : [])] },
        what: `unlabelled media (${train.files.map((f) => path.basename(f)).join(', ')}; held out: ${val?.files.map((f) => path.basename(f)).join(', ') ?? 'none'}) with soft labels by the teacher ${teacher.runner.manifest.id} ${teacher.runner.manifest.version}`,
      });
    }
    return { parts, teacher: teacher.description, teacherKey: teacher.key };
  } finally {
    detector?.close();
    await teacher.close();
  }
}

export async function buildPlan(c: TrainConfig, ev: BuildPlanEvents = {}): Promise<TrainPlan> {
  const byTask = new Map<Task, TaskData[]>();
  const sources: string[] = [];
  const add = (td: TaskData, what: string): void => {
    byTask.set(td.task, [...(byTask.get(td.task) ?? []), td]);
    sources.push(`${what} ${td.task}: ${td.train.length} train / ${td.val.length} val faces`);
  };
  const unlabelled = c.data.sources.filter((s) => s.kind === 'unlabelled');
  let softTeacher: string | undefined;
  let teacherKey: string | undefined;
  if (unlabelled.length > 0) {
    const u = await readUnlabelled(c, unlabelled, ev);
    softTeacher = u.teacher;
    teacherKey = u.teacherKey;
    for (const p of u.parts) add(p.data, p.what);
  }
  for (const s of c.data.sources) {
    if (s.kind === 'unlabelled') continue;
    if (s.kind === 'aff-wild2') {
      for (const task of s.tasks) add(await readAffWild2(task, { annotations: s.annotations, images: s.images, imageExt: s.imageExt }), `Aff-Wild2 (${s.annotations})`);
    } else if (s.kind === 'preset') {
      const roots: DatasetRoots = {
        affWild2: { annotations: s.affWild2.annotations, images: s.affWild2.images, ...(s.affWild2.imageExt !== undefined ? { imageExt: s.affWild2.imageExt } : {}) },
        ...(s.disfa !== undefined ? { disfa: s.disfa } : {}),
        ...(s.expw !== undefined ? { expw: s.expw } : {}),
        ...(s.afewVa !== undefined ? { afewVa: s.afewVa } : {}),
      };
      const tasks: readonly Task[] = s.name === 'Aff-Wild2' ? (s.tasks ?? ['EXPR', 'AU', 'VA']) : [PRESET_TASK[s.name]];
      for (const task of tasks) add(await loadPreset(s.name, roots, task), `preset ${s.name}`);
    } else {
      const train = await readManifest(s.train);
      const val = s.val !== undefined ? await readManifest(s.val) : undefined;
      for (const task of ['EXPR', 'AU', 'VA'] as const) {
        const tr = facesFor(task, train.faces);
        if (tr.length === 0) continue;
        add({ task, train: tr, val: val !== undefined ? facesFor(task, val.faces) : [], reports: [train.report, ...(val !== undefined ? [val.report] : [])] }, `manifest ${s.train}`);
      }
    }
  }
  const tasks = (['EXPR', 'AU', 'VA'] as const).filter((t) => byTask.has(t)).map((t) => merge(t, byTask.get(t) ?? []));
  const augmentation: Augmentation =
    c.augmentation === 'per-image' ? { kind: 'per-image', seed: c.seed } : c.augmentation === 'fixed' ? { kind: 'fixed', v: fixedDraw(c.seed) } : { kind: 'none' };
  return {
    out: c.out,
    runDir: c.runDir ?? `${c.out}.run`,
    id: c.id,
    kind: c.kind,
    arch: c.arch,
    width: c.width,
    seed: c.seed,
    init: c.init,
    ...(c.cnn !== undefined ? { cnn: c.cnn } : {}),
    teacher: c.teacher,
    students: c.students,
    ensembleWithTeacher: c.ensembleWithTeacher,
    batch: c.batch,
    seqLen: c.seqLen,
    adam: c.optimizer,
    schedule: c.lrSchedule,
    teacherWeights: { EXPR: c.loss.EXPR, AU: c.loss.AU, V: c.loss.V, A: c.loss.A, ccc: c.loss.ccc },
    studentLoss: { lambdaTeacher: c.loss.lambdaTeacher, temperature: c.loss.temperature, lambdaCcc: c.loss.ccc },
    frozenBn: c.frozenBn,
    augmentation,
    checkpointEverySteps: c.checkpoint.everySteps,
    data: { tasks, loader: createFaceBatchLoader(), sources, samplers: softTeacher !== undefined ? {} : samplersFor(c), ...(softTeacher !== undefined ? { softTeacher } : {}) },
    // The teacher's key joins the record: `--resume` refuses a run whose soft labels came from other weights.
    record: { ...c, out: undefined, runDir: undefined, backend: undefined, engine: undefined, ...(teacherKey !== undefined ? { teacherKey } : {}) },
  };
}

/** The original's single augmentation draw v ∈ [0, 1), here derived from the seed. */
function fixedDraw(seed: number): number {
  const x = Math.sin(seed * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

function samplersFor(c: TrainConfig): Partial<Record<Task, (faces: readonly LabelledFace[]) => Sampler>> {
  const out: Partial<Record<Task, (faces: readonly LabelledFace[]) => Sampler>> = {};
  if (c.balance.AU !== 'none') {
    const variant = c.balance.AU === 'ml-ros-seed' ? 'seed' : 'textbook';
    out.AU = (f) => mlRosSampler(f, c.seed, { variant });
  }
  if (c.balance.EXPR !== 'none') out.EXPR = (f) => exprBalancedSampler(f, c.seed);
  if (c.balance.VA !== 'none') out.VA = (f) => vaHistogramSampler(f, c.seed);
  return out;
}
