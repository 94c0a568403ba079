/**
 * The files of a packaged member, found in the installed package (module resolution, never a
 * download) and checked against the manifest's hashes: a different file is a different model,
 * whatever the version number says.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { packageDir } from '../io/package-dir.js';
import { MODEL_JSON_MAX_BYTES, PACKAGE_FILE_MAX_BYTES, readModelFileSync } from '../io/read-model-file.js';
import { SeedModelError } from '../seed/errors.js';
import type { FerplusMemberSpec, PackageMemberSpec } from './manifest.js';

export interface ResolvedPackage {
  readonly dir: string;
  /** The installed version (may differ from the manifest's when every hash still matches). */
  readonly installedVersion: string;
  /** File contents by package path, already verified. */
  readonly files: ReadonlyMap<string, Buffer>;
}

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function resolvePackageFiles(member: PackageMemberSpec, source: string): ResolvedPackage {
  const pkg = member.package;
  let dir: string;
  try {
    dir = packageDir(pkg.name);
  } catch (err) {
    throw new SeedModelError(
      'VA_ERR_MODEL_FILES',
      `${source}: member ${member.name} needs the npm package ${pkg.name}@${pkg.version}, which is not installed (npm install ${pkg.name}@${pkg.version})`,
      { member: member.name, package: pkg.name },
      { cause: err },
    );
  }
  let installedVersion = '?';
  try {
    installedVersion = String((JSON.parse(readModelFileSync(path.join(dir, 'package.json'), MODEL_JSON_MAX_BYTES).toString('utf8')) as { version?: unknown }).version ?? '?');
  } catch {
    // The hashes below decide; the version only makes the message clearer.
  }
  const files = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const f of pkg.files) {
    const full = path.resolve(dir, f.path);
    // The schema forbids `..`; this guards the resolution itself.
    if (!full.startsWith(dir + path.sep)) {
      problems.push(`${f.path}: outside the package`);
      continue;
    }
    readVerified(full, f, problems, files);
  }
  if (problems.length > 0) {
    throw new SeedModelError(
      'VA_ERR_MODEL_FILES',
      `${source}: member ${member.name}: the installed ${pkg.name}@${installedVersion} does not hold the model the manifest names (${pkg.name}@${pkg.version}):\n  ${problems.join('\n  ')}`,
      { member: member.name, package: pkg.name, installedVersion, expectedVersion: pkg.version, problems },
    );
  }
  return { dir, installedVersion, files };
}

/**
 * Reads one listed file and checks its sha256 into `files`; what is wrong is added to `problems`
 * instead of thrown, so one error names every bad file.
 */
function readVerified(full: string, f: { readonly path: string; readonly sha256: string }, problems: string[], files: Map<string, Buffer>): void {
  let data: Buffer;
  try {
    data = readModelFileSync(full, PACKAGE_FILE_MAX_BYTES);
  } catch (err) {
    problems.push(`${f.path}: ${(err as Error).message}`);
    return;
  }
  const actual = sha256Of(data);
  if (actual !== f.sha256) problems.push(`${f.path}: sha256 ${actual}, the manifest expects ${f.sha256}`);
  else files.set(f.path, data);
}

/** A file the manifest listed (and that was verified), by package path. */
export function fileOf(p: ResolvedPackage, rel: string, source: string): Buffer {
  const data = p.files.get(rel);
  if (data === undefined) throw new SeedModelError('VA_ERR_MODEL_FILES', `${source}: ${rel} is read by the model but not listed (with its sha256) in package.files`, { file: rel });
  return data;
}

/**
 * The files of a member whose weights live in the model directory itself (`ferplus-resnet50`),
 * checked against the manifest's hashes as package files are.
 */
export function resolveDirFiles(member: FerplusMemberSpec, dir: string, source: string): ResolvedPackage {
  const files = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const f of member.weights.files) {
    // The schema allows plain file names only: nothing outside `dir` can be named.
    readVerified(path.join(dir, f.path), f, problems, files);
  }
  if (problems.length > 0) {
    throw new SeedModelError('VA_ERR_MODEL_FILES', `${source}: member ${member.name}: the directory does not hold the weights the manifest names:\n  ${problems.join('\n  ')}`, { member: member.name, problems });
  }
  return { dir, installedVersion: 'model directory', files };
}
