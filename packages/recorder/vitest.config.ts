import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // Some unit tests walk every small case exhaustively (part-gatherer's maxParts bound): a few
        // seconds quiet, several times that beside other work. A bound on a run, not a speed assertion.
        test: { name: 'unit', include: ['src/**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
      },
      {
        // Real Chromium against the real service: one file at a time on a 2-core machine.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          // beforeAll starts the embedded PostgreSQL and launches Chromium: at a load average near 19 on 2 cores that took
          // over 60 s. A bound on setup, not an assertion about speed.
          hookTimeout: 180_000,
        },
      },
      {
        // Debian's firefox-esr through puppeteer-core (test/browser/driver.ts): the acceptance set, the same test
        // bodies as in Chromium, on both backends. The rest (Playwright-only tools: focus emulation, CDP) stays in
        // Chromium.
        test: {
          name: 'browser-firefox',
          include: [
            'test/browser/record.test.ts',
            'test/browser/record-s3.test.ts',
            'test/browser/compositor.test.ts',
            'test/browser/faults.test.ts',
            'test/browser/tab-close.test.ts',
          ],
          env: { SORTIE_TEST_BROWSER: 'firefox' },
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
