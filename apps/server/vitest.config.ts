import { configDefaults, defineConfig } from 'vitest/config';

// The suites run on real PostgreSQL (127.0.0.1:5432), then the route suites once more on S3. The embedded default
// (the same PostgreSQL, started by the service) has its own test: src/db/embedded.test.ts, and `pnpm test:start`.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'postgres',
          env: { SORTIE_TEST_DB: 'postgres' },
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          // The bounds of S3's tail objects: the S3 project's alone (the local backend has no tails).
          exclude: [...configDefaults.exclude, 'test/tails-bounds.test.ts'],
        },
      },
      // The route suites once more on the S3 backend (loopback S3 server, test/s3-server.ts).
      // Unit suites under src/ and the test/s3-*.test.ts files already choose their backend.
      // recordings-routes, upload-integrity, cors-public-url and races test the local backend's own PUT route (its
      // signed tokens, temp files, sub-5 MiB parts, a 1 MiB limit); their S3 counterparts
      // are in test/s3-*.test.ts and src/storage/contract.test.ts.
      // repair.test.ts: the repair of a recording finalized without its client on local (its parts); on S3 it is
      // test/s3-repair.test.ts (the joined object). test/tails.test.ts and
      // test/tails-bounds.test.ts run here: the tail objects are S3's.
      {
        extends: true,
        test: {
          name: 'postgres-s3',
          env: { SORTIE_TEST_DB: 'postgres', SORTIE_TEST_STORAGE: 's3' },
          include: ['test/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            'test/s3-*.test.ts',
            'test/recordings-routes.test.ts',
            'test/upload-integrity.test.ts',
            'test/cors-public-url.test.ts',
            'test/races.test.ts',
            'test/part-integrity.test.ts',
            'test/parts-url.test.ts',
            'test/repair.test.ts',
            // No storage in these: the overview's totals, the migrations of replicas started at once.
            'test/admin-overview-rollups.test.ts',
            'test/replicas-start.test.ts',
            'test/functions.test.ts',
            'test/audit-chain.test.ts',
            // The local disk's free-space reserve: S3 has none.
            'test/free-space.test.ts',
            // The HTTP server's own time limits, on a listening service; the storage plays no part.
            'test/http-timeouts.test.ts',
          ],
        },
      },
    ],
  },
});
