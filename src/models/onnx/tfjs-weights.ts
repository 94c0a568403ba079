/**
 * Reads a TF.js graph model (`model.json` + weight shards) as plain arrays, for the ONNX
 * converter: float32 and int32 weights as stored, float16 and affine-quantised (uint8/uint16)
 * weights dequantised to float32 exactly as TF.js does when it loads them.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { MODEL_JSON_MAX_BYTES, readModelFile, readWeightShards } from '../io/read-model-file.js';

export interface TfjsAttrValue {
  readonly s?: string;
  readonly i?: string | number;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: string;
  readonly shape?: { readonly dim?: readonly { readonly size?: string | number }[] };
  readonly list?: { readonly i?: readonly (string | number)[]; readonly s?: readonly string[] };
}

export interface TfjsNode {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
  readonly attr?: Readonly<Record<string, TfjsAttrValue>>;
}

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: { readonly dtype: string; readonly scale?: number; readonly min?: number };
}

export interface TfjsModelJson {
  readonly format?: string;
  readonly modelTopology: { readonly node: readonly TfjsNode[] };
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly WeightSpec[] }[];
}

export type WeightArray = { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array } | { readonly dtype: 'int32'; readonly shape: readonly number[]; readonly data: Int32Array };

export interface TfjsGraph {
  readonly json: TfjsModelJson;
  readonly weights: ReadonlyMap<string, WeightArray>;
  /** sha256 of model.json and every weight shard, in manifest order (the cache key). */
  readonly sha256: string;
}

function bad(file: string, why: string): ModelLoadError {
  return new ModelLoadError(ErrorCodes.MODEL_LOAD, `${file}: ${why}`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decode(spec: WeightSpec, bytes: Buffer, file: string): WeightArray {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = spec.quantization;
  if (spec.dtype === 'int32' && q === undefined) {
    const data = new Int32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getInt32(4 * i, true);
    return { dtype: 'int32', shape: spec.shape, data };
  }
  if (spec.dtype !== 'float32') throw bad(file, `weight ${spec.name} has dtype ${spec.dtype} (float32 and int32 are supported)`);
  const data = new Float32Array(count);
  if (q === undefined) {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if ((q.dtype === 'uint8' || q.dtype === 'uint16') && typeof q.scale === 'number' && typeof q.min === 'number') {
    for (let i = 0; i < count; i++) data[i] = (q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(2 * i, true)) * q.scale + q.min;
  } else {
    throw bad(file, `weight ${spec.name} uses an unsupported quantisation ${JSON.stringify(q)}`);
  }
  return { dtype: 'float32', shape: spec.shape, data };
}

function byteSize(spec: WeightSpec): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  return count * (q === 'float16' || q === 'uint16' ? 2 : q === 'uint8' ? 1 : 4);
}

/** Loads and checks a graph model; a truncated, oversized or malformed file is a ModelLoadError. */
export async function readTfjsGraph(modelJsonPath: string): Promise<TfjsGraph> {
  const file = path.basename(modelJsonPath);
  const text = await readModelFile(modelJsonPath, MODEL_JSON_MAX_BYTES);
  const hash = createHash('sha256').update(text);
  let json: TfjsModelJson;
  try {
    json = JSON.parse(text.toString('utf8')) as TfjsModelJson;
  } catch (err) {
    throw bad(file, `not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json?.modelTopology?.node) || !Array.isArray(json.weightsManifest)) throw bad(file, 'not a TF.js graph model (no modelTopology.node or weightsManifest)');
  const dir = path.dirname(modelJsonPath);
  const weights = new Map<string, WeightArray>();
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      // Shard paths come from the file: keep them inside the model's directory.
      if (path.dirname(path.resolve(dir, p)) !== path.resolve(dir)) throw bad(file, `weight shard ${p} is outside the model directory`);
    }
    for (const spec of group.weights) {
      if (!Array.isArray(spec.shape) || !(spec.shape as readonly unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)) throw bad(file, `weight ${spec.name} has a bad shape`);
    }
    // The shards' sizes are checked against what the group declares before any is read.
    const all = await readWeightShards(dir, group.paths, group.weights.reduce((n: number, spec: WeightSpec) => n + byteSize(spec), 0));
    hash.update(all);
    let offset = 0;
    for (const spec of group.weights) {
      const n = byteSize(spec);
      if (offset + n > all.length) throw bad(file, `weight shards end before weight ${spec.name} (${all.length} bytes)`);
      weights.set(spec.name, decode(spec, all.subarray(offset, offset + n), file));
      offset += n;
    }
    if (offset !== all.length) throw bad(file, `weight shards hold ${all.length} bytes, the manifest describes ${offset}`);
  }
  return { json, weights, sha256: hash.digest('hex') };
}
