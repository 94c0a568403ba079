import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MODEL_JSON_MAX_BYTES, readModelFileSync } from './read-model-file.js';

const require = createRequire(import.meta.url);

/**
 * The installed directory of an npm package. Packages with an `exports` map (like
 * @vladmandic/human) refuse `require.resolve('<pkg>/package.json')`, so walk up from its main entry.
 */
export function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readModelFileSync(manifest, MODEL_JSON_MAX_BYTES).toString('utf8')) as { name?: string }).name === name) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot locate the installed package ${name}`);
    dir = up;
  }
}
