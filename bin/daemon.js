#!/usr/bin/env node
// Every blocked FFmpeg call (an RTSP open or read) holds one libuv pool thread; the default 4
// would let a few hung cameras stall file I/O for everyone. Must be set before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= '32';
// Compiled by `npm install` (the `prepare` script) into dist/.
await import('../dist/cli.js');
