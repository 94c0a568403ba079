/**
 * How every file of a model directory is read: without blocking, only as a regular file, its size
 * checked from fstat before a byte is read (JSON within a bound, weight files exactly what their
 * description declares), and read only from the checked descriptor. A refusal is a ModelLoadError
 * (VA_ERR_MODEL_FILES) naming the file and what it is ("… is a FIFO, not a regular file").
 *
 * Links inside a model directory are followed, as they always were (an operator may link weights
 * from elsewhere); names come from manifests that allow plain file names only.
 */
import path from 'node:path';
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { FileRefusedError, RegularFile, readRegularFile, readRegularFileSync, type FileLimits } from '../../core/read-regular-file.js';

const MiB = 1024 * 1024;

/** manifest.json, a member's weights description, a TF.js model.json: the largest real one is < 1 MiB. */
export const MODEL_JSON_MAX_BYTES = 8 * MiB;
/** A `.pth` checkpoint (full-width ResNet-50 members are ≈ 100 MB). */
export const CHECKPOINT_MAX_BYTES = 1024 * MiB;
/** A file of an installed npm model package (the largest shipped is ≈ 7 MB). */
export const PACKAGE_FILE_MAX_BYTES = 256 * MiB;

const limits = (l: Omit<FileLimits, 'code' | 'followLinks'>): FileLimits => ({ ...l, code: ErrorCodes.MODEL_FILES, followLinks: true });

function asModelError(err: unknown): unknown {
  if (!(err instanceof FileRefusedError)) return err;
  return new ModelLoadError(ErrorCodes.MODEL_FILES, err.message, { cause: err, context: { file: err.file, reason: err.reason } });
}

/** What is wrong with a file that could not be read, without its path ("is a FIFO, not a regular file"). */
export function whyUnreadable(err: unknown): string {
  const refusal = err instanceof FileRefusedError ? err : err instanceof ModelLoadError && err.cause instanceof FileRefusedError ? err.cause : undefined;
  return refusal !== undefined ? refusal.what : err instanceof Error ? err.message : String(err);
}

/** A model file of at most `maxBytes`. */
export async function readModelFile(file: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readRegularFile(file, limits({ maxBytes }));
  } catch (err) {
    throw asModelError(err);
  }
}

/** A model JSON file (manifest, weights description, model.json) as text. */
export async function readModelJsonText(file: string): Promise<string> {
  return (await readModelFile(file, MODEL_JSON_MAX_BYTES)).toString('utf8');
}

/** The synchronous form of `readModelFile`. */
export function readModelFileSync(file: string, maxBytes: number): Buffer {
  try {
    return readRegularFileSync(file, limits({ maxBytes }));
  } catch (err) {
    throw asModelError(err);
  }
}

/**
 * The weight shards `paths` (under `dir`) concatenated, when together they hold exactly
 * `declaredBytes`: every shard is opened and fstat'ed first, so a shard of the wrong size is
 * refused before any is read. With one shard its size must match exactly.
 */
export async function readWeightShards(dir: string, paths: readonly string[], declaredBytes: number): Promise<Buffer> {
  const open: RegularFile[] = [];
  try {
    for (const p of paths) {
      const file = path.join(dir, p);
      // One shard: its size is declared exactly. Several: each is at most the whole.
      open.push(await RegularFile.open(file, limits(paths.length === 1 ? { maxBytes: declaredBytes, exactBytes: declaredBytes, declaredBy: 'the manifest' } : { maxBytes: declaredBytes })));
    }
    const total = open.reduce((n, f) => n + f.size, 0);
    if (total !== declaredBytes) {
      throw new ModelLoadError(ErrorCodes.MODEL_FILES, `${paths.map((p) => path.join(dir, p)).join(' + ')}: the weight files hold ${total} bytes, the manifest declares ${declaredBytes}`, {
        context: { files: paths, total, declaredBytes },
      });
    }
    if (open.length === 1) return await open[0]!.read();
    const out = Buffer.allocUnsafe(declaredBytes);
    let at = 0;
    for (const f of open) {
      const b = await f.read();
      b.copy(out, at);
      at += b.byteLength;
    }
    return out;
  } catch (err) {
    throw asModelError(err);
  } finally {
    await Promise.all(open.map((f) => f.close()));
  }
}
