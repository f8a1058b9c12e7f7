import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds the PostgreSQL server (skips its tests with a notice when there is none, fails under CI=true).
    globalSetup: ['test/setup/postgres.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // End-to-end tests spawn the CLI; two cores on CI machines.
    maxWorkers: 2,
  },
});
