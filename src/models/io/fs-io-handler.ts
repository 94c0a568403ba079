import path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { PACKAGE_FILE_MAX_BYTES, readModelFile, readModelJsonText, readWeightShards } from './read-model-file.js';

interface ModelJson {
  readonly modelTopology?: unknown;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: io.WeightsManifestEntry[] }[];
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly signature?: unknown;
  readonly userDefinedMetadata?: Record<string, unknown>;
}

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes a group's weights take in its shards, or undefined when a weight has no fixed size (strings). */
function declaredBytes(weights: readonly io.WeightsManifestEntry[]): number | undefined {
  let n = 0;
  for (const w of weights) {
    const per = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
    if (per === undefined) return undefined;
    n += per * w.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/**
 * TF.js has no `file://` loader without tfjs-node: this reads a `model.json` and its weight
 * shards from disk (shards concatenated in manifest order) and hands them to `loadGraphModel`.
 */
export function fsIOHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const json = JSON.parse(await readModelJsonText(modelJsonPath)) as ModelJson;
      if (!Array.isArray(json.weightsManifest)) {
        throw new Error(`${modelJsonPath}: no weightsManifest, not a TF.js model.json`);
      }
      const dir = path.dirname(modelJsonPath);
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        // Sizes are checked against what the group declares before a shard is read.
        const declared = declaredBytes(group.weights);
        if (declared !== undefined) shards.push(await readWeightShards(dir, group.paths, declared));
        else for (const file of group.paths) shards.push(await readModelFile(path.join(dir, file), PACKAGE_FILE_MAX_BYTES));
      }
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      const artifacts: io.ModelArtifacts = { weightSpecs, weightData };
      if (json.modelTopology !== undefined) artifacts.modelTopology = json.modelTopology as {};
      if (json.format !== undefined) artifacts.format = json.format;
      if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
      if (json.convertedBy !== undefined && json.convertedBy !== null) artifacts.convertedBy = json.convertedBy;
      if (json.signature !== undefined) artifacts.signature = json.signature as {};
      if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata as {};
      return artifacts;
    },
  };
}
