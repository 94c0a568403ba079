/**
 * Reads one member's unfolded weights from a model directory (the inference loader folds BN
 * away; training needs γ, β and the running statistics as they are).
 */
import path from 'node:path';
import { readModelJsonText, readWeightShards, whyUnreadable } from '../../models/io/read-model-file.js';
import { tf, type Tensor } from '../../models/tf.js';
import { MANIFEST_FILE, parseManifest, type ModelManifest } from '../../models/seed/manifest.js';
import { checkWeightShapes } from '../../models/seed/weight-check.js';
import { ModelWeightsError } from '../../models/seed/errors.js';
import type { SeedWeights } from '../../models/seed/weights.js';
import { TrainError } from '../errors.js';

export async function readManifestFile(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readModelJsonText(file);
  } catch (err) {
    throw new TrainError(`${file}: cannot read the model manifest: it ${whyUnreadable(err)}`, { file }, { cause: err });
  }
  return parseManifest(JSON.parse(text) as unknown, file);
}

/** `member` defaults to the first student (else the first member). The caller owns the tensors. */
export async function readMemberWeights(dir: string, member?: string): Promise<SeedWeights & { readonly member: string; readonly manifest: ModelManifest }> {
  const manifest = await readManifestFile(dir);
  const m = member !== undefined ? manifest.members.find((x) => x.name === member) : (manifest.members.find((x) => x.role === 'student') ?? manifest.members[0]);
  if (m === undefined) throw new TrainError(`${dir}: no member ${member ?? ''}`, { dir });
  const wfile = JSON.parse(await readModelJsonText(path.join(dir, m.weights))) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[] };
  const specs = wfile.weightsManifest.flatMap((g) => g.weights);
  const paths = wfile.weightsManifest.flatMap((g) => g.paths);
  for (const p of paths) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p)) throw new TrainError(`${dir}: weight path ${p} is not a plain file name`, { dir });
  }
  if (!specs.every((s) => Array.isArray(s.shape) && s.shape.every((d) => Number.isInteger(d) && d >= 0))) throw new TrainError(`${dir}/${m.weights}: a weight without an integer shape`, { dir });
  // The files' sizes are checked against the description (float32) before a byte is read.
  const all = await readWeightShards(dir, paths, specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0));
  const shapes = new Map(specs.map((s) => [s.name, s.shape] as const));
  const check = checkWeightShapes(manifest.architecture, manifest.kind, shapes);
  if (check.problems.length > 0) throw new ModelWeightsError(`${dir}/${m.name}`, check.problems);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const weights = new Map<string, Tensor>(Object.entries(tf.io.decodeWeights(data, specs)));
  return { arch: manifest.architecture, kind: manifest.kind, dims: check.dims, weights, member: m.name, manifest };
}
