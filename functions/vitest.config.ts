import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Suites that need emulators run only through their own commands:
 * `*.e2e.test.ts` under firebase-tools' JavaScript emulators (scripts/test-functions-emulator.mjs),
 * the Firestore, Pub/Sub and Cloud Storage adapter contracts under Google's (npm run test:emulators).
 */
const emulatorOnly = ['src/**/*.e2e.test.ts', 'src/runtimes/firebase/*.contract.test.ts'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.SERAPHIM_EMULATOR_CONTRACTS ? ['src/**/*.e2e.test.ts'] : emulatorOnly),
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // SQLite files, child processes and local servers: keep the 2-core machine calm.
    pool: 'forks',
    maxWorkers: 2,
  },
});
