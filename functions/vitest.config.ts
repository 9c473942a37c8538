import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // SQLite files, child processes and local servers: keep the 2-core machine calm.
    pool: 'forks',
    maxWorkers: 2,
  },
});
