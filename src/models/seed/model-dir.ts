/**
 * A model directory: `manifest.json` plus, per ensemble member, a TF.js weights manifest
 * (`{ weightsManifest: [{ paths, weights: [{ name, shape, dtype }] }] }`) and its `.bin`.
 * Loading validates the manifest, the files and every weight's name and shape against the
 * architecture before any model runs; all problems of one kind are reported together.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readModelJsonText, readWeightShards, whyUnreadable } from '../io/read-model-file.js';
import { tf, type Tensor } from '../tf.js';
import type { SeedArchitecture, SeedDims, SeedKind } from './architecture.js';
import { ModelManifestError, ModelWeightsError, SeedModelError, type WeightProblem } from './errors.js';
import { ensembleMembers, MANIFEST_FILE, parseManifest, type MemberRole, type ModelManifest } from './manifest.js';
import { SeedModel, type SeedModelOptions } from './model.js';
import type { WeightMap } from './types.js';
import { checkWeightShapes } from './weight-check.js';

interface WeightsEntry {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
}

interface WeightsFile {
  readonly format: 'seed-member-weights';
  readonly weightsManifest: { readonly paths: string[]; readonly weights: WeightsEntry[] }[];
}

export interface LoadedMember {
  readonly name: string;
  readonly role: MemberRole;
  readonly model: SeedModel;
}

export interface LoadedEnsemble {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly architecture: SeedArchitecture;
  readonly kind: SeedKind;
  readonly members: readonly LoadedMember[];
  /** Disposes every member's weights; idempotent. */
  dispose(): void;
}

function binName(weightsFile: string): string {
  return weightsFile.replace(/\.json$/, '.bin');
}

/**
 * Writes `members` (by manifest member name) under `dir`. Refuses weights that do not match the
 * manifest's architecture and kind, so a directory that was saved always loads.
 */
export async function saveModelDir(dir: string, manifest: ModelManifest, members: ReadonlyMap<string, WeightMap>): Promise<void> {
  const m = parseManifest(manifest, `${dir}/${MANIFEST_FILE}`);
  const problems: WeightProblem[] = [];
  for (const member of m.members) {
    const w = members.get(member.name);
    if (w === undefined) {
      problems.push({ kind: 'missing', name: `${member.name}: (all weights)`, expected: [] });
      continue;
    }
    const shapes = new Map([...w].map(([n, t]) => [n, t.shape] as const));
    for (const p of checkWeightShapes(m.architecture, m.kind, shapes).problems) problems.push({ ...p, name: `${member.name}: ${p.name}` });
    for (const [n, t] of w) if (t.dtype !== 'float32') problems.push({ kind: 'dtype', name: `${member.name}: ${n}`, dtype: t.dtype });
  }
  for (const name of members.keys()) {
    if (!m.members.some((x) => x.name === name)) problems.push({ kind: 'unexpected', name: `${name}: not a manifest member`, actual: [] });
  }
  if (problems.length > 0) throw new ModelWeightsError(`saving ${dir}`, problems);

  await mkdir(dir, { recursive: true });
  for (const member of m.members) {
    const w = members.get(member.name);
    if (w === undefined) continue;
    const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(w));
    const bin = binName(member.weights);
    const file: WeightsFile = {
      format: 'seed-member-weights',
      weightsManifest: [{ paths: [bin], weights: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32' })) }],
    };
    await writeFile(path.join(dir, bin), new Uint8Array(data));
    await writeFile(path.join(dir, member.weights), JSON.stringify(file, null, 1) + '\n');
  }
  // The manifest goes last (tmp + rename): a directory with a manifest is complete.
  const tmp = path.join(dir, `${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(m, null, 2) + '\n');
  await rename(tmp, path.join(dir, MANIFEST_FILE));
}

async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readModelJsonText(file);
  } catch (err) {
    throw new SeedModelError('VA_ERR_MODEL_FILES', `${file}: cannot read the model manifest: it ${whyUnreadable(err)}`, { file }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelManifestError(file, [{ path: '', message: `not valid JSON (${err instanceof Error ? err.message : String(err)})` }], { cause: err });
  }
  return parseManifest(json, file);
}

function checkWeightsFile(json: unknown): string[] {
  const errs: string[] = [];
  const wm = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(wm)) return ['no weightsManifest array'];
  wm.forEach((g: unknown, gi) => {
    const group = g as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p))) {
      errs.push(`weightsManifest.${gi}.paths must list plain file names`);
    }
    if (!Array.isArray(group.weights)) errs.push(`weightsManifest.${gi}.weights must be an array`);
    else
      group.weights.forEach((e: unknown, ei) => {
        const w = e as Partial<WeightsEntry>;
        if (typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || w.dtype !== 'float32') {
          errs.push(`weightsManifest.${gi}.weights.${ei} needs a name, an integer shape and dtype float32`);
        }
      });
  });
  return errs;
}

interface MemberFiles {
  readonly name: string;
  readonly specs: WeightsEntry[];
  readonly data: ArrayBuffer;
}

async function readMemberFiles(dir: string, member: ModelManifest['members'][number], fileErrors: string[]): Promise<MemberFiles | undefined> {
  const jsonPath = path.join(dir, member.weights);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readModelJsonText(jsonPath));
  } catch (err) {
    fileErrors.push(`${member.name}: ${err instanceof SyntaxError ? `${member.weights}: ` : ''}${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const shapeErrors = checkWeightsFile(parsed);
  if (shapeErrors.length > 0) {
    fileErrors.push(...shapeErrors.map((e) => `${member.name}: ${member.weights}: ${e}`));
    return undefined;
  }
  const groups = (parsed as WeightsFile).weightsManifest;
  const specs = groups.flatMap((g) => g.weights);
  const expectedBytes = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  let all: Buffer;
  try {
    // Sizes come from fstat and are checked against the description before a byte is read.
    all = await readWeightShards(dir, groups.flatMap((g) => g.paths), expectedBytes);
  } catch (err) {
    fileErrors.push(`${member.name}: weight data: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { name: member.name, specs, data };
}

export interface LoadModelDirOptions extends Pick<SeedModelOptions, 'fold' | 'keepUnfolded'> {
  /**
   * Load only these members (by name), teachers included if named; default: the ensemble
   * (`ensembleMembers`: the students, unless the manifest says the teacher is averaged too).
   */
  readonly members?: readonly string[];
}

export async function loadModelDir(dir: string, opts: LoadModelDirOptions = {}): Promise<LoadedEnsemble> {
  const manifest = await readManifest(dir);
  const wanted = opts.members === undefined ? ensembleMembers(manifest) : manifest.members.filter((m) => opts.members?.includes(m.name) === true);
  const unknown = (opts.members ?? []).filter((n) => !manifest.members.some((m) => m.name === n));
  if (unknown.length > 0) throw new SeedModelError('VA_ERR_MODEL_FILES', `${dir}: no member(s) named ${unknown.join(', ')}`, { dir, unknown });

  const fileErrors: string[] = [];
  const files: MemberFiles[] = [];
  for (const m of wanted) {
    const f = await readMemberFiles(dir, m, fileErrors);
    if (f !== undefined) files.push(f);
  }
  if (fileErrors.length > 0) {
    throw new SeedModelError('VA_ERR_MODEL_FILES', `${dir}: ${fileErrors.length} file problem(s):\n  ${fileErrors.join('\n  ')}`, { dir, fileErrors });
  }

  const problems: WeightProblem[] = [];
  const dimsOf = new Map<string, SeedDims>();
  for (const f of files) {
    const shapes = new Map(f.specs.map((s) => [s.name, s.shape] as const));
    if (shapes.size !== f.specs.length) problems.push({ kind: 'unexpected', name: `${f.name}: duplicate weight names`, actual: [] });
    const check = checkWeightShapes(manifest.architecture, manifest.kind, shapes);
    dimsOf.set(f.name, check.dims);
    for (const p of check.problems) problems.push({ ...p, name: `${f.name}: ${p.name}` });
  }
  if (problems.length > 0) throw new ModelWeightsError(dir, problems);

  const members: LoadedMember[] = [];
  try {
    for (const f of files) {
      const role = wanted.find((m) => m.name === f.name)?.role ?? 'student';
      const tensors = tf.io.decodeWeights(f.data, f.specs);
      const weights = new Map<string, Tensor>(Object.entries(tensors));
      const dims = dimsOf.get(f.name);
      if (dims === undefined) throw new Error('unreachable: member was checked');
      const model = SeedModel.fromWeights({ arch: manifest.architecture, kind: manifest.kind, dims, weights }, { ...opts, source: `${dir}/${f.name}` });
      members.push({ name: f.name, role, model });
    }
  } catch (err) {
    for (const m of members) m.model.dispose();
    throw err;
  }
  let disposed = false;
  return {
    dir,
    manifest,
    architecture: manifest.architecture,
    kind: manifest.kind,
    members,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const m of members) m.model.dispose();
    },
  };
}
