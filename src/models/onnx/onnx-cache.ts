/**
 * Exported ONNX graphs are cached beside the model directory (`<dir>.onnx/`, a sibling, so the
 * model directory itself stays exactly what `import-seed` wrote), or under the user's cache
 * directory when that place is not writable. A file's name carries a hash of
 * the member's weight files and of the exporter version, so new weights never meet stale graphs.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes } from '../../core/errors.js';
import { hashRegularFile, readRegularFile } from '../../core/read-regular-file.js';
import { CHECKPOINT_MAX_BYTES, MODEL_JSON_MAX_BYTES } from '../io/read-model-file.js';

/** Bump when the exported graphs change for the same weights. */
export const EXPORTER_VERSION = 'seed-onnx-2'; // 2: int8 residual Adds on integers (QLinearAdd)

/** A cached graph is about the size of its member's weights; anything past this is not one. */
export const CACHED_GRAPH_MAX_BYTES = 1024 * 1024 * 1024;

/** Hashes a member's weight files as they are now (in chunks, not blocking on a planted FIFO). */
export async function weightsHash(dir: string, weightsJson: string): Promise<string> {
  const h = createHash('sha256').update(EXPORTER_VERSION);
  const model = { code: ErrorCodes.MODEL_FILES, followLinks: true } as const;
  await hashRegularFile(path.join(dir, weightsJson), h, { ...model, maxBytes: MODEL_JSON_MAX_BYTES });
  await hashRegularFile(path.join(dir, weightsJson.replace(/\.json$/, '.bin')), h, { ...model, maxBytes: CHECKPOINT_MAX_BYTES });
  return h.digest('hex').slice(0, 24);
}

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function userCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'affect-daemon', 'onnx');
}

/**
 * The cached file, created by `build` when absent. Writes go to a temporary name and are renamed
 * into place, so concurrent processes and crashes never leave a half-written graph.
 */
export async function cachedGraph(modelDir: string, file: string, build: () => Uint8Array | Promise<Uint8Array>, cacheDir?: string): Promise<{ path: string; bytes: Uint8Array; built: boolean }> {
  const candidates = [`${path.resolve(modelDir)}.onnx`, ...(cacheDir !== undefined ? [cacheDir] : []), userCacheDir()];
  for (const dir of candidates) {
    const target = path.join(dir, file);
    try {
      // The cache holds only what this code renamed into place: a link, a FIFO or an oversized
      // file there is not a graph of ours, so it is built again (and renamed over it).
      return { path: target, bytes: await readRegularFile(target, { maxBytes: CACHED_GRAPH_MAX_BYTES }), built: false };
    } catch {
      // not cached here
    }
  }
  const bytes = await build();
  for (const dir of candidates) {
    if (!(await writable(dir))) continue;
    const target = path.join(dir, file);
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, target);
      return { path: target, bytes, built: true };
    } catch {
      // try the next place
    }
  }
  return { path: '', bytes, built: true };
}
