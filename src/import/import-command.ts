/**
 * `daemon import-seed`: the seed's released PyTorch checkpoints → a model directory.
 * The import is written to a fresh sibling directory and moved into place only when it is
 * complete, so a failed import never damages an existing model directory.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import { AU_LABELS, AU_SELECTION_THRESHOLD, AU_THRESHOLDS, MANIFEST_FILE, RELEASED_SEQ_LEN, type AuThresholdTable, type MemberRole, type ModelManifest } from '../models/seed/index.js';
import { importSeedCheckpoints } from './import-seed.js';

export interface ImportSeedCommandOptions {
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly files: readonly string[];
  readonly out: string;
  readonly seqLen?: number;
  readonly id?: string;
  /** One role per file, in order; default all students. */
  readonly roles?: readonly string[];
  readonly auThresholds?: readonly number[];
  readonly force?: boolean;
  readonly source?: string;
  readonly trainingData?: readonly string[];
  readonly version?: string;
  /** Average the teacher with the students (the authors merge the students only). */
  readonly ensembleWithTeacher?: boolean;
  /** Figures the weights' authors reported, recorded in the manifest's provenance.metrics. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly warn?: (line: string) => void;
  readonly now?: Date;
}

const usage = (message: string): AnalyticsError => new AnalyticsError(ErrorCodes.BAD_REQUEST, message);

/** The released threshold table for a kind and sequence length (spec §2.5), if there is one. */
export function releasedThresholdTable(kind: 'cnn' | 'cnn-rnn', seqLen: number): AuThresholdTable | undefined {
  if (kind === 'cnn') return 'cnn';
  return ({ 32: 'cnnRnnSeq32', 16: 'cnnRnnSeq16', 8: 'cnnRnnSeq8' } as const)[seqLen as 32 | 16 | 8];
}

/** Member names from roles: `teacher` (or `teacher_k` when several), `student_0`, `student_1`, … */
export function memberNames(roles: readonly MemberRole[]): string[] {
  const teachers = roles.filter((r) => r === 'teacher').length;
  const count = { teacher: 0, student: 0 };
  return roles.map((r) => (r === 'teacher' && teachers === 1 ? 'teacher' : `${r}_${count[r]++}`));
}

function parseRoles(roles: readonly string[] | undefined, n: number): MemberRole[] {
  if (roles === undefined) return new Array<MemberRole>(n).fill('student');
  const bad = roles.filter((r) => r !== 'teacher' && r !== 'student');
  if (bad.length > 0) throw usage(`--roles: unknown role(s) ${bad.join(', ')} (use teacher or student)`);
  if (roles.length !== n) throw usage(`--roles lists ${roles.length} role(s) for ${n} checkpoint file(s); give one per file, in order`);
  return roles as MemberRole[];
}

async function checkOut(out: string, force: boolean): Promise<'absent' | 'empty' | 'replace'> {
  if (!existsSync(out)) return 'absent';
  if (!(await stat(out)).isDirectory()) throw usage(`--out ${out}: exists and is not a directory`);
  const entries = await readdir(out);
  if (entries.length === 0) return 'empty';
  if (!force) throw usage(`--out ${out}: the directory is not empty (use --force to replace a model directory)`);
  // --force replaces a model directory, never an arbitrary folder that happens to be named.
  if (!entries.includes(MANIFEST_FILE)) throw usage(`--out ${out}: not a model directory (no ${MANIFEST_FILE}); refusing to replace it even with --force`);
  return 'replace';
}

export async function importSeedCommand(o: ImportSeedCommandOptions): Promise<ModelManifest> {
  if (o.files.length === 0) throw usage('no checkpoint files given');
  if (o.kind === 'cnn' && o.seqLen !== undefined) throw usage('--seq-len only applies to --kind cnn-rnn');
  const seqLen = o.kind === 'cnn-rnn' ? (o.seqLen ?? RELEASED_SEQ_LEN) : undefined;
  const roles = parseRoles(o.roles, o.files.length);
  for (const f of o.files) {
    if (!existsSync(f)) throw new AnalyticsError(ErrorCodes.SOURCE_NOT_FOUND, `${f}: checkpoint file not found`);
    if (!(await stat(f)).isFile()) throw usage(`${f}: not a regular file`);
  }
  let thresholds: readonly number[];
  if (o.auThresholds !== undefined) {
    if (o.auThresholds.length !== AU_LABELS.length || o.auThresholds.some((t) => !(t >= 0 && t <= 1))) {
      throw usage(`--au-thresholds needs ${AU_LABELS.length} numbers in [0, 1] (${AU_LABELS.join(', ')})`);
    }
    thresholds = o.auThresholds;
  } else {
    const table = releasedThresholdTable(o.kind, seqLen ?? 0);
    if (table === undefined) {
      o.warn?.(`no released AU thresholds for seq_len ${seqLen}: using ${AU_SELECTION_THRESHOLD} for every AU (pass --au-thresholds to set them)`);
      thresholds = new Array<number>(AU_LABELS.length).fill(AU_SELECTION_THRESHOLD);
    } else thresholds = AU_THRESHOLDS[table];
  }
  const out = path.resolve(o.out);
  const state = await checkOut(out, o.force === true);
  const parent = path.dirname(out);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(path.join(parent, `.${path.basename(out)}.importing-`));
  const names = memberNames(roles);
  try {
    const manifest = await importSeedCheckpoints({
      outDir: tmp,
      kind: o.kind,
      members: o.files.map((file, i) => ({ name: names[i] ?? `member_${i}`, role: roles[i] ?? 'student', file })),
      id: o.id ?? `seed-${o.kind}`,
      version: o.version ?? '1',
      auThresholds: thresholds,
      ...(seqLen !== undefined ? { seqLen } : {}),
      source: o.source ?? `PyTorch state_dicts of the seed method (Deng, Chen & Shi, FG 2020): ${o.files.map((f) => path.basename(f)).join(', ')}`,
      trainingData: [...(o.trainingData ?? [])],
      tool: 'daemon import-seed',
      ...(o.ensembleWithTeacher === true ? { ensembleWithTeacher: true } : {}),
      ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
      ...(o.now !== undefined ? { now: o.now } : {}),
    });
    // mkdtemp makes the staging directory private (0700); a model directory is ordinary data.
    await chmod(tmp, 0o755);
    if (state === 'replace') {
      const old = `${tmp}.old`;
      await rename(out, old);
      await rename(tmp, out);
      await rm(old, { recursive: true, force: true });
    } else {
      if (state === 'empty') await rm(out, { recursive: true });
      await rename(tmp, out);
    }
    return manifest;
  } catch (err) {
    // Messages must name the directory the user asked for, not the staging directory.
    if (err instanceof AnalyticsError && err.message.includes(tmp)) {
      throw new AnalyticsError(err.code, err.message.split(tmp).join(out), { cause: err, context: { ...err.context } });
    }
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
