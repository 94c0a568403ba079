import { execFile } from 'node:child_process';
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

/** tsc's output and exit code; asynchronous, so the test worker keeps answering vitest meanwhile. */
function typecheck(): Promise<{ readonly output: string; readonly code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit', '--pretty', 'false'], { cwd: root, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ output: stdout + stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1 });
    });
  });
}

describe('the project, tests included', () => {
  it('type-checks with tsconfig.json', async () => {
    const tsc = await typecheck();
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);
  }, 300_000);
});
