import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** The real test media, committed with the project (MIT; licences in its README), so any clone can run the suite. */
export const mediaDir = path.join(repoRoot, 'test', 'fixtures', 'media');

export function media(name: string): string {
  const p = path.join(mediaDir, name);
  if (!existsSync(p)) throw new Error(`test media missing: ${p} (committed under test/fixtures/media)`);
  return p;
}
