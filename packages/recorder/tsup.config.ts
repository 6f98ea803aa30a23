/**
 * The entry points, each an ES module with its own declarations. The code
 * they have in common (api, errors) is split into a chunk rather than copied,
 * so an app that imports several pays for it once.
 *
 * The wire types come from @sortie/contract, a private workspace package that
 * is never published: `dts.resolve` inlines its types into these .d.ts files,
 * so the published package imports nothing from it (it holds no runtime code).
 *
 * @sortie/webm (the EBML reader/writer, shared with the service) is private
 * too: its code is bundled in (noExternal) and its types inlined (dts.resolve).
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    button: 'src/button.ts',
    admin: 'src/admin.ts',
    // Thumbnails while recording, apart so that the core stays small.
    thumbnails: 'src/thumbnails.ts',
    // Also loaded by the core on demand (a dynamic import) when an element is recorded.
    compositor: 'src/compositor/index.ts',
  },
  format: ['esm'],
  dts: { resolve: ['@sortie/contract', '@sortie/webm'] },
  noExternal: ['@sortie/webm'],
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'browser',
  treeshake: true,
});
