import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';

interface ModelJson {
  readonly modelTopology?: unknown;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: io.WeightsManifestEntry[] }[];
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly signature?: unknown;
  readonly userDefinedMetadata?: Record<string, unknown>;
}

/**
 * TF.js has no `file://` loader without tfjs-node: this reads a `model.json` and its weight
 * shards from disk (shards concatenated in manifest order) and hands them to `loadGraphModel`.
 */
export function fsIOHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson;
      if (!Array.isArray(json.weightsManifest)) {
        throw new Error(`${modelJsonPath}: no weightsManifest, not a TF.js model.json`);
      }
      const dir = path.dirname(modelJsonPath);
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const file of group.paths) shards.push(readFileSync(path.join(dir, file)));
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
