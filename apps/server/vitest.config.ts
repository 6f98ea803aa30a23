import { defineConfig } from 'vitest/config';

// The same suites run once on embedded PGlite and once on real PostgreSQL.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'pglite', env: { SORTIE_TEST_DB: 'pglite' }, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', env: { SORTIE_TEST_DB: 'postgres' }, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
    ],
  },
});
