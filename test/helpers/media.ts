import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** Test media lives beside the project in ../shared/media and is never copied into it. */
export const mediaDir = path.resolve(repoRoot, '..', 'shared', 'media');

export function media(name: string): string {
  const p = path.join(mediaDir, name);
  if (!existsSync(p)) throw new Error(`test media missing: ${p} (tests read ../shared/media)`);
  return p;
}
