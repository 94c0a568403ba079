/**
 * Parity with the authors' own code (issue 20): `import-seed` + `predict --windows authors` on
 * the checkpoints and face crops of test/fixtures/authors, against what their
 * run_pretrained_model.py computed from the same files (tools/authors_reference.py): the students'
 * merge of their --ensemble with its decisions (released AU thresholds, EXPR argmax), and every
 * member on its own, the teacher included. Within 1e-5 on both engines.
 *
 * The inputs are what the authors' pipeline feeds it: JPEG crops (written by PIL, decoded here as
 * PIL decodes them) and a few PNGs. The CNN's JPEG crops also run as lossless twins (PNG of the
 * pixels PIL decodes; the script checks the authors' outputs on them are bit for bit the same), a
 * comparison that no JPEG decoder takes part in.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/models/backend.js';
import type { EngineName } from '../../src/models/ensemble/member-runner.js';
import { AU_THRESHOLDS, EXPR_LABELS } from '../../src/models/seed/index.js';
import { importSeedCommand } from '../../src/import/import-command.js';
import { predict } from '../../src/predict/predict.js';
import type { PredictionRow } from '../../src/predict/rows.js';
import { repoRoot } from '../helpers/media.js';

const fx = path.join(repoRoot, 'test/fixtures/authors');

interface MemberOut {
  name: string;
  file: string;
  format: 'zip' | 'legacy';
  frames: number[];
  au_prob: number[][];
  expr_prob: number[][];
  valence: number[];
  arousal: number[];
  expr_argmax: number[];
}
interface Merged {
  frames: number[];
  au_prob: number[][];
  expr_prob: number[][];
  valence: number[];
  arousal: number[];
  au_active: number[][];
  expr_label: number[];
}
interface Run {
  kind: 'cnn' | 'cnn-rnn';
  images: { dir: string; files: string[]; order?: number[] };
  members: MemberOut[];
  merged: Merged;
}
type RunName = 'cnn' | 'cnn_rnn_20' | 'cnn_rnn_40';
const expected = JSON.parse(readFileSync(path.join(fx, 'expected.json'), 'utf8')) as {
  config: { seq_len: number; best_au_thresholds: { cnn: number[]; cnn_rnn: number[] } };
  runs: Record<RunName, Run>;
  dataparallel: { file: string; weights_of: string };
};

const TOL = 1e-5;
const ENGINES: readonly EngineName[] = ['tfjs', 'onnx'];

const maxErr = (a: readonly number[], b: readonly number[]): number => (a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0));
const readJsonl = (file: string): PredictionRow[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
const roleOf = (name: string): 'teacher' | 'student' => (name === 'teacher' ? 'teacher' : 'student');

interface Diff {
  au: number;
  expr: number;
  va: number;
}
const worst = (a: Diff, b: Diff): Diff => ({ au: Math.max(a.au, b.au), expr: Math.max(a.expr, b.expr), va: Math.max(a.va, b.va) });
const zero: Diff = { au: 0, expr: 0, va: 0 };

interface Want {
  readonly merged: Merged;
  readonly members: readonly MemberOut[];
}
/** What the authors' ensemble gives: their merge of the students, the students one by one. */
const authorsEnsemble = (run: Run): Want => ({ merged: run.merged, members: run.members.filter((m) => roleOf(m.name) === 'student') });
/** One member on its own, its decisions taken as the merged ones are (released thresholds, argmax). */
function alone(member: MemberOut, thresholds: readonly number[]): Want {
  const au_active = member.au_prob.map((p) => p.map((x, j) => (x > (thresholds[j] ?? 1) ? 1 : 0)));
  return { merged: { ...member, au_active, expr_label: member.expr_argmax }, members: [member] };
}

/** Differences of the rows from the authors' numbers: the merge, and each member alone. */
function compare(rows: readonly PredictionRow[], want: Want): { merged: Diff; members: Diff[]; decisions: { au: number; expr: number } } {
  const m = want.merged;
  let merged = zero;
  const members = want.members.map(() => zero);
  const decisions = { au: 0, expr: 0 };
  expect(rows.map((r) => r.frame)).toEqual(m.frames);
  for (const r of rows) expect(r.members?.map((x) => [x.name, x.role])).toEqual(want.members.map((x) => [x.name, roleOf(x.name)]));
  rows.forEach((r, i) => {
    merged = worst(merged, {
      au: maxErr(m.au_prob[i] ?? [], r.au?.probs ?? []),
      expr: maxErr(m.expr_prob[i] ?? [], r.expr.probs),
      va: maxErr([m.valence[i] ?? NaN, m.arousal[i] ?? NaN], [r.va?.valence ?? NaN, r.va?.arousal ?? NaN]),
    });
    if (JSON.stringify(r.au?.active) !== JSON.stringify(m.au_active[i])) decisions.au++;
    if (r.expr.label !== EXPR_LABELS[m.expr_label[i] ?? -1]) decisions.expr++;
    want.members.forEach((w, k) => {
      const got = r.members?.[k];
      members[k] = worst(members[k] ?? zero, {
        au: maxErr(w.au_prob[i] ?? [], got?.au?.probs ?? []),
        expr: maxErr(w.expr_prob[i] ?? [], got?.expr.probs ?? []),
        va: maxErr([w.valence[i] ?? NaN, w.arousal[i] ?? NaN], [got?.va?.valence ?? NaN, got?.va?.arousal ?? NaN]),
      });
      if (got?.expr.label !== EXPR_LABELS[w.expr_argmax[i] ?? -1]) decisions.expr++;
    });
  });
  return { merged, members, decisions };
}

let root: string;
type ModelName = 'cnn' | 'cnnRnn' | 'cnnTeacher' | 'cnnRnnTeacher' | 'dataParallel';
const models: Partial<Record<ModelName, string>> = {};
const figures: string[] = [];

/** A temporary directory of copies of committed crops, `name(i)` ← `source(i)`. */
async function assemble(name: string, files: readonly [string, string][]): Promise<string> {
  const d = path.join(root, name);
  await mkdir(d);
  for (const [dst, src] of files) copyFileSync(src, path.join(d, dst));
  return d;
}

/** Inputs per case: the committed directories (JPEG crops, and PNGs in the CNN's) and the CNN's lossless twin. */
const dirs: Partial<Record<string, string>> = {};

beforeAll(async () => {
  await selectBackend('wasm');
  root = await mkdtemp(path.join(tmpdir(), 'authors-parity-'));
  const importRun = async (name: ModelName, run: Run, members: readonly MemberOut[], teacherAlone = false): Promise<void> => {
    const out = path.join(root, name);
    await importSeedCommand({
      kind: run.kind,
      ...(run.kind === 'cnn-rnn' ? { seqLen: expected.config.seq_len } : {}),
      files: members.map((m) => path.join(fx, m.file)),
      roles: members.map((m) => roleOf(m.name)),
      // A teacher-only model: the teacher is its ensemble (predict runs the ensemble's members).
      ...(teacherAlone ? { ensembleWithTeacher: true } : {}),
      out,
    });
    models[name] = out;
  };
  const { cnn: cnnRun, cnn_rnn_20: rnnRun } = expected.runs;
  await importRun('cnn', cnnRun, cnnRun.members);
  await importRun('cnnRnn', rnnRun, rnnRun.members);
  await importRun('cnnTeacher', cnnRun, cnnRun.members.filter((m) => m.name === 'teacher'), true);
  await importRun('cnnRnnTeacher', rnnRun, rnnRun.members.filter((m) => m.name === 'teacher'), true);
  models.dataParallel = path.join(root, 'dp');
  await importSeedCommand({ kind: 'cnn', files: [path.join(fx, expected.dataparallel.file)], out: models.dataParallel });

  const cnn = expected.runs.cnn.images.files;
  dirs.cnn = path.join(fx, 'cnn_faces');
  dirs.cnnPng = await assemble('cnn-png', cnn.map((f) => {
    const png = f.replace(/\.jpg$/, '.png');
    return [png, path.join(fx, f.endsWith('.jpg') ? 'cnn_faces_png' : 'cnn_faces', png)];
  }));
  dirs.seq20 = path.join(fx, 'seq20');
  const order = expected.runs.cnn_rnn_40.images.order ?? [];
  const seq20 = expected.runs.cnn_rnn_20.images.files;
  dirs.seq40 = await assemble('seq40', order.map((j, i) => [`frame_${String(i).padStart(3, '0')}.jpg`, path.join(fx, 'seq20', seq20[j] ?? '')]));
}, 120_000);

afterAll(async () => {
  if (process.env.AUTHORS_PARITY_REPORT === '1') process.stdout.write(`${figures.join('\n')}\n`);
  await rm(root, { recursive: true, force: true });
});

const fmt = (d: Diff): string => `AU ${d.au.toExponential(1)} EXPR ${d.expr.toExponential(1)} VA ${d.va.toExponential(1)}`;

async function predictRun(model: string, input: string, engine: EngineName, tag: string): Promise<PredictionRow[]> {
  const out = path.join(root, `${tag}-${engine}.jsonl`);
  await predict({ model, input, out, windows: 'authors', backend: 'wasm', engine, members: true });
  return readJsonl(out);
}

/** Rows only for the frames the authors' windows give an output, named as the sorted files. */
function expectSources(rows: readonly PredictionRow[], run: Run, ext: '.png' | null): void {
  const name = (i: number): string => {
    const f = run.images.order !== undefined ? `frame_${String(i).padStart(3, '0')}.jpg` : (run.images.files[i] ?? '');
    return ext === null ? f : f.replace(/\.jpg$/, ext);
  };
  expect(rows.map((r) => r.source)).toEqual(run.merged.frames.map(name));
}

const within = (d: ReturnType<typeof compare>, tol: number): void => {
  for (const x of [d.merged, ...d.members]) expect(Math.max(x.au, x.expr, x.va)).toBeLessThan(tol);
};

describe('the reference fixtures', () => {
  it("carry the authors' released AU thresholds, which the importer's tables equal", () => {
    expect(AU_THRESHOLDS.cnn).toEqual(expected.config.best_au_thresholds.cnn);
    expect(AU_THRESHOLDS.cnnRnnSeq32).toEqual(expected.config.best_au_thresholds.cnn_rnn);
    for (const [name, kind] of [['cnn', 'cnn'], ['cnnRnn', 'cnn_rnn']] as const) {
      const manifest = JSON.parse(readFileSync(path.join(models[name] ?? '', 'manifest.json'), 'utf8')) as { tasks: { AU: { thresholds: number[] } } };
      expect(manifest.tasks.AU.thresholds).toEqual(expected.config.best_au_thresholds[kind]);
    }
  });

  it('hold both serialisations, a teacher and two students per kind', () => {
    for (const run of [expected.runs.cnn, expected.runs.cnn_rnn_20]) {
      expect(run.members.map((m) => m.name)).toEqual(['teacher', 'student_0', 'student_1']);
      expect(new Set(run.members.map((m) => m.format))).toEqual(new Set(['zip', 'legacy']));
    }
  });
});

const CASES = [
  ['CNN, six faces (four JPEG crops, two PNGs)', 'cnn', 'cnn', 'cnn', 'cnnTeacher'],
  ["CNN-RNN seq_len 32, 20 JPEG frames in the authors' window iloc[-12:20] (rows for frames 8-19 only)", 'cnn_rnn_20', 'seq20', 'cnnRnn', 'cnnRnnTeacher'],
  ['CNN-RNN seq_len 32, 40 JPEG frames: windows [0,32) and [8,40), the earlier window wins', 'cnn_rnn_40', 'seq40', 'cnnRnn', 'cnnRnnTeacher'],
] as const;

describe.each(ENGINES)("import-seed + predict against the authors' run_pretrained_model.py (engine %s)", (engine) => {
  const thresholds = (run: Run): number[] => (run.kind === 'cnn' ? expected.config.best_au_thresholds.cnn : expected.config.best_au_thresholds.cnn_rnn);

  it.each(CASES)('%s: teacher + 2 students, --ensemble: every row within 1e-5 of theirs, every decision equal, and the teacher alone too', async (_label, runName, dir, model, teacher) => {
    const run = expected.runs[runName];
    if (runName === 'cnn_rnn_20') expect(run.merged.frames).toEqual(Array.from({ length: 12 }, (_, i) => 8 + i));
    if (runName === 'cnn_rnn_40') expect(run.merged.frames).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const rows = await predictRun(models[model] ?? '', dirs[dir] ?? '', engine, runName);
    expectSources(rows, run, null);
    const d = compare(rows, authorsEnsemble(run));
    within(d, TOL);
    expect(d.decisions).toEqual({ au: 0, expr: 0 });

    const t = await predictRun(models[teacher] ?? '', dirs[dir] ?? '', engine, `${runName}-teacher`);
    const teacherMember = run.members.find((m) => m.name === 'teacher');
    expect(teacherMember).toBeDefined();
    const dt = compare(t, alone(teacherMember as MemberOut, thresholds(run)));
    within(dt, TOL);
    expect(dt.decisions).toEqual({ au: 0, expr: 0 });
    figures.push(`${engine} ${runName}: merged ${fmt(d.merged)}; students ${d.members.map(fmt).join(' | ')}; teacher ${fmt(dt.merged)}`);
  });

  it("CNN on the JPEG crops' lossless twins (PNG of the pixels PIL decodes): the same rows, within 1e-5, without a JPEG decoder", async () => {
    const run = expected.runs.cnn;
    const rows = await predictRun(models.cnn ?? '', dirs.cnnPng ?? '', engine, 'cnn-png');
    expectSources(rows, run, '.png');
    const d = compare(rows, authorsEnsemble(run));
    figures.push(`${engine} cnn (png twins): merged ${fmt(d.merged)}; students ${d.members.map(fmt).join(' | ')}`);
    within(d, TOL);
    expect(d.decisions).toEqual({ au: 0, expr: 0 });
  });

  it("a DataParallel checkpoint ('module.' keys, as their train.py --gpu_ids 0,1 saves) gives its unwrapped twin's outputs within 1e-5", async () => {
    const run = expected.runs.cnn;
    const twin = run.members.find((m) => m.file === expected.dataparallel.weights_of);
    expect(twin?.name).toBe('student_0');
    const rows = await predictRun(models.dataParallel ?? '', dirs.cnn ?? '', engine, 'dp');
    const d = compare(rows, alone(twin as MemberOut, thresholds(run)));
    figures.push(`${engine} dataparallel student: ${fmt(d.merged)}`);
    within(d, TOL);
    expect(d.decisions).toEqual({ au: 0, expr: 0 });
  });
});
