/** Resolves a validated config into a TrainPlan: reads the data, picks loader and augmentation. */
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

export async function buildPlan(c: TrainConfig): Promise<TrainPlan> {
  const byTask = new Map<Task, TaskData[]>();
  const sources: string[] = [];
  const add = (td: TaskData, what: string): void => {
    byTask.set(td.task, [...(byTask.get(td.task) ?? []), td]);
    sources.push(`${what} ${td.task}: ${td.train.length} train / ${td.val.length} val faces`);
  };
  for (const s of c.data.sources) {
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
    data: { tasks, loader: createFaceBatchLoader(), sources, samplers: samplersFor(c) },
    record: { ...c, out: undefined, runDir: undefined, backend: undefined },
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
