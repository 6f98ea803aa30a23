/**
 * Three entry points, each an ES module with its own declarations. The
 * shared code (api, errors) is split into a chunk rather than copied, so an
 * app that imports all three pays for it once.
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', button: 'src/button.ts', admin: 'src/admin.ts' },
  format: ['esm'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'browser',
  treeshake: true,
});
