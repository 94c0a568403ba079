/**
 * The seed's training mixtures (spec §4.1) as named presets. Validation is always Aff-Wild2's
 * validation split of the task.
 * - `Mixed_AU`: Aff-Wild2 AU train (all valid frames) + DISFA (all subjects).
 * - `Mixed_EXPR`: Aff-Wild2 EXPR train undersampled in sequence over the concatenated frames —
 *   Neutral kept where position % 10 == 0, then Happiness where position % 2 == 0, then Sadness
 *   where position % 2 == 0, positions recomputed after each step (the code's ÷2, not the
 *   comment's "by 20") — + every ExpW face.
 * - `Mixed_VA`: Aff-Wild2 VA train subsampled ×5 (position % 5 == 0) + all AFEW-VA clips.
 * - `Aff-Wild2`: Aff-Wild2 alone (the CNN-RNN's data; ExpW is not video).
 */
import { readAffWild2, type AffWild2Source } from './aff-wild2.js';
import { readAfewVa, type AfewVaSource } from './afew-va.js';
import { readDisfa, type DisfaSource } from './disfa.js';
import { readExpw, type ExpwSource } from './expw.js';
import { ReportBuilder } from './read-report.js';
import type { LabelledFace, ReadReport, Task, TaskData } from './types.js';

export const PRESETS = ['Mixed_AU', 'Mixed_EXPR', 'Mixed_VA', 'Aff-Wild2'] as const;
export type PresetName = (typeof PRESETS)[number];

export const PRESET_TASK: Readonly<Record<Exclude<PresetName, 'Aff-Wild2'>, Task>> = { Mixed_AU: 'AU', Mixed_EXPR: 'EXPR', Mixed_VA: 'VA' };

export interface DatasetRoots {
  readonly affWild2: AffWild2Source;
  readonly disfa?: DisfaSource;
  readonly expw?: ExpwSource;
  readonly afewVa?: AfewVaSource;
}

export interface PresetProgress {
  (line: string): void;
}

/** Keeps rows of `cls` only at positions (over the whole current array) divisible by `every`. */
export function undersampleClass(faces: readonly LabelledFace[], cls: number, every: number): LabelledFace[] {
  return faces.filter((f, i) => f.expr !== cls || i % every === 0);
}

/** The seed's sequential EXPR undersampling: Neutral ÷10, then Happiness ÷2, then Sadness ÷2. */
export function undersampleAffWild2Expr(faces: readonly LabelledFace[]): { faces: LabelledFace[]; report: ReadReport } {
  const report = new ReportBuilder('Mixed_EXPR undersampling of Aff-Wild2');
  let cur = [...faces];
  for (const [cls, every, name] of [
    [0, 10, 'Neutral'],
    [4, 2, 'Happiness'],
    [5, 2, 'Sadness'],
  ] as const) {
    const next = undersampleClass(cur, cls, every);
    report.skip(`${name} undersampled (keep position % ${every} == 0)`, undefined, cur.length - next.length);
    cur = next;
  }
  report.keep(cur.length);
  return { faces: cur, report: report.build() };
}

function need<T>(v: T | undefined, what: string, preset: string): T {
  if (v === undefined) throw new RangeError(`${preset} needs the ${what} dataset (its root is not configured)`);
  return v;
}

export async function loadPreset(preset: PresetName, roots: DatasetRoots, task?: Task, progress?: PresetProgress): Promise<TaskData> {
  const say = progress ?? (() => undefined);
  if (preset === 'Aff-Wild2') {
    if (task === undefined) throw new RangeError('the Aff-Wild2 preset needs a task');
    return readAffWild2(task, roots.affWild2);
  }
  const t = PRESET_TASK[preset];
  if (task !== undefined && task !== t) throw new RangeError(`${preset} is the ${t} mixture, not ${task}`);
  const aw = await readAffWild2(t, roots.affWild2);
  say(`Aff-Wild2 ${t}: ${aw.train.length} training, ${aw.val.length} validation frames`);
  if (preset === 'Mixed_AU') {
    const d = await readDisfa(need(roots.disfa, 'DISFA', preset));
    say(`DISFA: ${d.faces.length} frames`);
    return { task: t, train: [...aw.train, ...d.faces], val: aw.val, reports: [...aw.reports, d.report] };
  }
  if (preset === 'Mixed_EXPR') {
    const u = undersampleAffWild2Expr(aw.train);
    const e = await readExpw(need(roots.expw, 'ExpW', preset), (done, total) => {
      if (done % 5000 === 0 || done === total) say(`ExpW: ${done}/${total} faces`);
    });
    return { task: t, train: [...u.faces, ...e.faces], val: aw.val, reports: [...aw.reports, u.report, e.report] };
  }
  const sub = new ReportBuilder('Mixed_VA subsampling of Aff-Wild2');
  const kept = aw.train.filter((_, i) => i % 5 === 0);
  sub.keep(kept.length);
  sub.skip('subsampled ×5 (keep position % 5 == 0)', undefined, aw.train.length - kept.length);
  const a = await readAfewVa(need(roots.afewVa, 'AFEW-VA', preset), (clips) => {
    if (clips % 50 === 0) say(`AFEW-VA: ${clips} clips`);
  });
  return { task: t, train: [...kept, ...a.faces], val: aw.val, reports: [...aw.reports, sub.build(), a.report] };
}
