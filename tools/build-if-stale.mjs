// The `prepare` script: compiles src/ into dist/ unless dist/ is already built from the current
// sources. npm runs `prepare` on `npm ci` / `npm install`, and also when `npx daemon` first links
// this package into npx's cache: that second, unconditional tsc run made a newcomer's first
// `npx daemon` take over a minute. Stale means: no stamp of a finished build, or an input newer
// than it (a pull, an edit, a checkout all give the touched files a new mtime).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((f) => path.join(root, f));

function newestInput() {
  let newest = 0;
  for (const f of inputs) if (existsSync(f)) newest = Math.max(newest, statSync(f).mtimeMs);
  for (const e of readdirSync(path.join(root, 'src'), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

const built = existsSync(stamp) && existsSync(path.join(root, 'dist', 'cli.js')) ? statSync(stamp).mtimeMs : -1;
if (built >= 0 && newestInput() < built) {
  process.stdout.write('dist/ is up to date with src/: not rebuilt\n');
  process.exit(0);
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, `built ${new Date().toISOString()}\n`);
