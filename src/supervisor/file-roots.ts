import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { isUnderRoots } from '../streams/open-source.js';

/**
 * Where a path really leads, even when it does not exist yet: a dangling symlink is judged by its
 * target (it may point outside every root and be filled in later), anything else by its real parent.
 */
export function realPathOf(p: string, depth = 0): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    // Missing: resolved by hand below.
  }
  if (depth > 40) return abs; // A symlink loop: judged as written (the open fails anyway).
  try {
    if (lstatSync(abs).isSymbolicLink()) return realPathOf(path.resolve(path.dirname(abs), readlinkSync(abs)), depth + 1);
  } catch {
    // Nothing at this path at all.
  }
  const parent = path.dirname(abs);
  return parent === abs ? abs : path.join(realPathOf(parent, depth + 1), path.basename(abs));
}

/** Throws SourceError VA_ERR_SOURCE_FORBIDDEN unless the file's real path lies under a root's real path. */
export function assertUnderRoots(file: string, roots: readonly string[]): void {
  if (!isUnderRoots(realPathOf(file), roots.map((r) => realPathOf(r)))) {
    throw new SourceError(ErrorCodes.SOURCE_FORBIDDEN, `file sources must lie under the configured file roots (${roots.join(', ')})`, {
      context: { path: file },
    });
  }
}
