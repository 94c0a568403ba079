/** Resolves a validated config into a TrainPlan: reads the data, picks loader and augmentation. */
import { readAffWild2 } from './data/aff-wild2.js';
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
  for (const s of c.data.sources) {
    for (const task of s.tasks) {
      const td = await readAffWild2(task, { annotations: s.annotations, images: s.images, imageExt: s.imageExt });
      byTask.set(task, [...(byTask.get(task) ?? []), td]);
      sources.push(`Aff-Wild2 ${task} (${s.annotations}): ${td.train.length} train / ${td.val.length} val faces`);
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
    data: { tasks, loader: createFaceBatchLoader(), sources },
    record: { ...c, out: undefined, runDir: undefined, backend: undefined },
  };
}

/** The original's single augmentation draw v ∈ [0, 1), here derived from the seed. */
function fixedDraw(seed: number): number {
  const x = Math.sin(seed * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}
