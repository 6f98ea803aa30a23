/**
 * What each entry point costs a page: bundled from source with esbuild,
 * minified, gzipped (level 9) — what an app's bundler would ship. Also
 * checks the package has no runtime dependency. Exit code 1 when it has one
 * or when an entry goes over its budget.
 *
 *   pnpm bench:size
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Budgets in bytes, min+gz. The core aim is under 8 KB. */
const ENTRIES: { name: string; file: string; budget: number }[] = [
  { name: '@sortie/recorder', file: 'src/index.ts', budget: 8 * 1024 },
  { name: '@sortie/recorder/button', file: 'src/button.ts', budget: 11 * 1024 },
  { name: '@sortie/recorder/admin', file: 'src/admin.ts', budget: 4 * 1024 },
  { name: '@sortie/recorder/thumbnails', file: 'src/thumbnails.ts', budget: 2 * 1024 },
];

let failed = false;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
  const deps = Object.keys(pkg[field] ?? {});
  if (deps.length > 0) {
    console.error(`FAIL: package.json ${field} is not empty: ${deps.join(', ')}`);
    failed = true;
  }
}
if (!failed) console.log('runtime dependencies: none');

console.log('\nentry                         min        min+gz     budget');
for (const e of ENTRIES) {
  const out = await build({
    entryPoints: [`${root}${e.file}`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
  });
  const inputs = Object.keys(out.metafile.inputs);
  const foreign = inputs.filter((p) => p.includes('node_modules'));
  if (foreign.length > 0) {
    console.error(`FAIL: ${e.name} bundles code from node_modules: ${foreign.join(', ')}`);
    failed = true;
  }
  const code = out.outputFiles[0]!.contents;
  const gz = gzipSync(code, { level: 9 }).length;
  const over = gz > e.budget;
  if (over) failed = true;
  const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`.padEnd(11);
  console.log(`${e.name.padEnd(30)}${kb(code.length)}${kb(gz)}${kb(e.budget)}${over ? 'OVER BUDGET' : ''}`);
}
process.exit(failed ? 1 : 0);
