import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two test files at a time, on CI's 2 cores too: most files wait on sockets, spawned daemons
    // and FFmpeg, so one at a time used ~1.2 cores (17 min 8 s here, serial; 11 min 57 s with two).
    maxWorkers: 2,
    minWorkers: 1,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'dashboards/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['./test/helpers/setup.ts'],
    globalSetup: ['./test/helpers/global-setup.ts'],
  },
});
