import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['src/**/*.test.ts'], environment: 'node' },
      },
      {
        // Real Chromium against the real service: one file at a time on a 2-core machine.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          // beforeAll opens PGlite and launches Chromium: at a load average near 19 on 2 cores that took
          // over 60 s. A bound on setup, not an assertion about speed.
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
