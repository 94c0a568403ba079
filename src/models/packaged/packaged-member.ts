/**
 * One packaged expression classifier: loaded from its verified package files, fed exactly the
 * input its package feeds it, its outputs returned as probabilities in the seed's EXPR order.
 */
import path from 'node:path';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../tf.js';
import { EXPR_LABELS } from '../seed/constants.js';
import { SeedModelError } from '../seed/errors.js';
import type { RgbFace } from '../seed/preprocess.js';
import { checkFaceApiWeights, faceApiExpressionLogits, type FaceApiWeights } from './face-api-expression.js';
import { FerplusNet } from './ferplus-net.js';
import type { PackagedMemberSpec } from './manifest.js';
import { fileOf, resolveDirFiles, resolvePackageFiles } from './package-files.js';

interface WeightGroup {
  readonly paths: readonly string[];
  readonly weights: io.WeightsManifestEntry[];
}

function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new SeedModelError('VA_ERR_MODEL_FILES', `${what}: not valid JSON`, { file: what }, { cause: err });
  }
}

/** Concatenated weight shards of a weights manifest, each shard a verified package file. */
function weightData(groups: readonly WeightGroup[], modelPath: string, read: (rel: string) => Buffer): { specs: io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const dir = path.posix.dirname(modelPath);
  const specs = groups.flatMap((g) => g.weights);
  const all = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => read(dir === '.' ? p : `${dir}/${p}`))));
  return { specs, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer };
}

function groupsOf(json: unknown, what: string): WeightGroup[] {
  const groups = Array.isArray(json) ? json : (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  const ok =
    Array.isArray(groups) &&
    groups.every((g: unknown) => {
      const x = g as { paths?: unknown; weights?: unknown };
      return Array.isArray(x.paths) && x.paths.every((p) => typeof p === 'string' && /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(p)) && Array.isArray(x.weights);
    });
  if (!ok) throw new SeedModelError('VA_ERR_MODEL_FILES', `${what}: no usable weightsManifest (paths must be plain file names)`, { file: what });
  return groups as WeightGroup[];
}

function decodeAll(data: ArrayBuffer, specs: io.WeightsManifestEntry[], where: string): Map<string, Tensor> {
  try {
    return new Map(Object.entries(tf.io.decodeWeights(data, specs)));
  } catch (err) {
    throw new SeedModelError('VA_ERR_MODEL_WEIGHTS', `${where}: weights do not decode: ${(err as Error).message}`, {}, { cause: err });
  }
}

type Net = { readonly kind: 'graph'; readonly model: GraphModel } | { readonly kind: 'face-api'; readonly weights: FaceApiWeights } | { readonly kind: 'ferplus'; readonly net: FerplusNet };

export class PackagedMember {
  private net: Net | undefined;
  /** For output j, its index in the seed's EXPR order. */
  private readonly toSeed: readonly number[];

  private constructor(
    readonly spec: PackagedMemberSpec,
    net: Net,
    readonly installedVersion: string,
  ) {
    this.net = net;
    this.toSeed = spec.labelMap.map((l) => EXPR_LABELS.indexOf(l));
  }

  get name(): string {
    return this.spec.name;
  }

  get role(): string {
    return this.spec.role;
  }

  static async load(spec: PackagedMemberSpec, source: string): Promise<PackagedMember> {
    const where = `${source}: member ${spec.name}`;
    if (spec.format === 'ferplus-resnet50') return PackagedMember.loadFerplus(spec, source, where);
    const pkg = resolvePackageFiles(spec, source);
    const read = (rel: string): Buffer => fileOf(pkg, rel, where);
    const modelJson = parseJson(read(spec.package.model), `${where}: ${spec.package.model}`);
    const groups = groupsOf(modelJson, `${where}: ${spec.package.model}`);
    const { specs, data } = weightData(groups, spec.package.model, read);
    if (spec.format === 'tfjs-graph-model') {
      const topology = (modelJson as { modelTopology?: unknown }).modelTopology;
      if (typeof topology !== 'object' || topology === null) throw new SeedModelError('VA_ERR_MODEL_FILES', `${where}: ${spec.package.model} is not a graph model (no modelTopology)`);
      const handler: io.IOHandler = {
        load: async () => ({ modelTopology: topology as {}, weightSpecs: specs, weightData: data, format: 'graph-model' }),
      };
      let model: GraphModel;
      try {
        model = await loadGraphModel(handler);
      } catch (err) {
        throw new SeedModelError('VA_ERR_MODEL_WEIGHTS', `${where}: the graph model does not load: ${(err as Error).message}`, {}, { cause: err });
      }
      const shape = model.inputs[0]?.shape ?? [];
      const channels = spec.input.colour === 'grey' ? 1 : 3;
      if (shape[1] !== spec.input.size || shape[2] !== spec.input.size || shape[3] !== channels) {
        model.dispose();
        throw new SeedModelError('VA_ERR_MODEL_INPUT', `${where}: the graph takes [${shape.join(',')}], the manifest declares ${spec.input.size}×${spec.input.size}×${channels}`);
      }
      return new PackagedMember(spec, { kind: 'graph', model }, pkg.installedVersion);
    }
    const weights = decodeAll(data, specs, where);
    try {
      checkFaceApiWeights(weights, where);
    } catch (err) {
      for (const t of weights.values()) t.dispose();
      throw err;
    }
    return new PackagedMember(spec, { kind: 'face-api', weights }, pkg.installedVersion);
  }

  /** `source` is the model directory: the weights are its own files, verified by hash. */
  private static loadFerplus(spec: Extract<PackagedMemberSpec, { format: 'ferplus-resnet50' }>, source: string, where: string): PackagedMember {
    const files = resolveDirFiles(spec, source, source);
    const read = (rel: string): Buffer => fileOf(files, rel, where);
    const json = parseJson(read(spec.weights.manifest), `${where}: ${spec.weights.manifest}`);
    const { specs, data } = weightData(groupsOf(json, `${where}: ${spec.weights.manifest}`), spec.weights.manifest, read);
    const weights = decodeAll(data, specs, where);
    try {
      return new PackagedMember(spec, { kind: 'ferplus', net: FerplusNet.fromWeights(weights, spec.input, where) }, files.installedVersion);
    } finally {
      for (const t of weights.values()) t.dispose();
    }
  }

  /** Faces (uint8 RGB, any size) → the network's input [B, size, size, C], normalised as declared. */
  preprocess(faces: readonly RgbFace[]): Tensor4D {
    if (this.net?.kind === 'ferplus') return this.net.net.preprocess(faces);
    if (this.spec.format === 'ferplus-resnet50') throw new SeedModelError('VA_ERR_MODEL_INPUT', `${this.name} used after dispose()`);
    const { size, colour, greyWeights, mean, divisor } = this.spec.input;
    return tf.tidy(() => {
      const resized = faces.map((f) => {
        const img = tf.cast(tf.tensor3d(f.data, [f.height, f.width, 3], 'int32'), 'float32') as Tensor3D;
        return f.width === size && f.height === size ? img : (tf.image.resizeBilinear(img, [size, size], false) as Tensor3D);
      });
      let x: Tensor4D = tf.stack(resized) as Tensor4D;
      if (colour === 'grey') x = tf.sum(tf.mul(x, tf.tensor1d(greyWeights ?? [0.2989, 0.587, 0.114])), 3, true) as Tensor4D;
      return tf.div(tf.sub(x, tf.tensor1d(mean)), divisor) as Tensor4D;
    });
  }

  /** Probabilities, one row of 7 per face, in the seed's EXPR order (float64 for exact decoding). */
  run(faces: readonly RgbFace[]): Float64Array[] {
    const net = this.net;
    if (net === undefined) throw new SeedModelError('VA_ERR_MODEL_INPUT', `${this.name} used after dispose()`);
    if (faces.length === 0) return [];
    const out = tf.tidy(() => {
      const x = this.preprocess(faces);
      const y = net.kind === 'graph' ? (net.model.execute(x) as Tensor2D) : net.kind === 'ferplus' ? net.net.forward(x) : faceApiExpressionLogits(net.weights, x);
      return this.spec.output === 'logits' ? tf.softmax(y) : y;
    });
    let values: Float32Array;
    try {
      if (out.rank !== 2 || out.shape[1] !== EXPR_LABELS.length) throw new SeedModelError('VA_ERR_MODEL_INPUT', `${this.name}: output [${out.shape.join(',')}], expected [B, 7]`);
      values = out.dataSync<'float32'>();
    } finally {
      out.dispose();
    }
    return faces.map((_, i) => {
      const row = new Float64Array(EXPR_LABELS.length);
      let sum = 0;
      for (let j = 0; j < EXPR_LABELS.length; j++) {
        const p = Math.max(0, values[i * EXPR_LABELS.length + j]!);
        row[this.toSeed[j]!] = p;
        sum += p;
      }
      // float32 softmax outputs sum to 1 only within rounding; the ensemble averages exact simplices.
      for (let j = 0; j < row.length; j++) row[j] = sum > 0 ? row[j]! / sum : 1 / row.length;
      return row;
    });
  }

  dispose(): void {
    const net = this.net;
    this.net = undefined;
    if (net?.kind === 'graph') net.model.dispose();
    else if (net?.kind === 'face-api') for (const t of net.weights.values()) t.dispose();
    else if (net?.kind === 'ferplus') net.net.dispose();
  }
}
