import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The tests are TypeScript too, but vitest strips their types without checking them, and the
 * build (tsconfig.build.json) compiles src only. So a test reading a renamed field (as
 * model-workers.test.ts once read `models().engine`) fails only when it runs, if at all. This
 * checks the whole project as tsconfig.json names it: src, test, dashboards.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the project, tests included', () => {
  it('type-checks with tsconfig.json', () => {
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit', '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 180_000);
});
