import { defineConfig } from 'vitest/config';

/**
 * Files whose checks compare rates or race timers against the machine's speed: the cluster tests
 * (lease expiry and rebalancing against a real Redis), the lifecycle drills (a bystander stream
 * must keep a share of the rate it had alone) and the hostile-broker floods (a flood must reach
 * 10,000 commands in 8 s, a witness stream keep a share of its rate). They run one at a time after
 * everything else, so no other file's load lands in the middle of a measurement they made before it.
 */
const LOAD_SENSITIVE = [
  'test/adversarial/cluster.test.ts',
  'test/integration/cluster.test.ts',
  'test/integration/cluster-api.test.ts',
  'test/adversarial/lifecycle.test.ts',
  'test/integration/brokers-hostile.test.ts',
];

const shared = {
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 60_000,
  setupFiles: ['./test/helpers/setup.ts'],
};

export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    // Two files at a time on the 2-core CI machine: most files wait on sockets, decoders and child
    // processes more than they compute.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'dashboards/**/*.test.ts'],
          exclude: [...LOAD_SENSITIVE, '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'load-sensitive',
          include: LOAD_SENSITIVE,
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
