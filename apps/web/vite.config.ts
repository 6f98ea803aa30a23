/**
 * Two pages, built into dist/ and served by the service at / and /admin.
 * @sortie/recorder resolves to its TypeScript source so the pages never wait
 * for (or drift from) the SDK's own build.
 */
import { defineConfig } from 'vite';

/** A path next to this file (no node:url, so the config type-checks with the page's DOM types). */
const here = (p: string) => decodeURIComponent(new URL(p, import.meta.url).pathname);

const recorderSrc = here('../../packages/recorder/src/');

export default defineConfig({
  resolve: {
    // Longest first: '@sortie/recorder' would otherwise swallow its subpaths.
    alias: [
      { find: /^@sortie\/recorder\/button$/, replacement: `${recorderSrc}button.ts` },
      { find: /^@sortie\/recorder\/admin$/, replacement: `${recorderSrc}admin.ts` },
      { find: /^@sortie\/recorder\/thumbnails$/, replacement: `${recorderSrc}thumbnails.ts` },
      { find: /^@sortie\/recorder$/, replacement: `${recorderSrc}index.ts` },
    ],
  },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        index: here('./index.html'),
        admin: here('./admin.html'),
      },
    },
  },
  server: {
    // `pnpm --filter @sortie/web dev` next to a service on :3000.
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
});
