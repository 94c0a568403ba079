#!/usr/bin/env node
import { existsSync } from 'node:fs';

// Every blocked FFmpeg call (an RTSP open or read) holds one libuv pool thread; the default 4
// would let a few hung cameras stall file I/O for everyone. Must be set before the pool starts
// (existsSync does not start it).
process.env.UV_THREADPOOL_SIZE ??= '32';
// Compiled by `npm ci` / `npm install` (the `prepare` script) into dist/.
const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('daemon: dist/ is not built: run `npm ci` (installs and builds) or `npm run build` in the project directory\n');
  process.exit(1);
}
await import(cli.href);
