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
const ENTRIES: { name: string; out: string; file: string; budget: number }[] = [
  { name: '@sortie/recorder', out: 'index', file: 'src/index.ts', budget: 8 * 1024 },
  { name: '@sortie/recorder/button', out: 'button', file: 'src/button.ts', budget: 11 * 1024 },
  { name: '@sortie/recorder/admin', out: 'admin', file: 'src/admin.ts', budget: 4 * 1024 },
  { name: '@sortie/recorder/thumbnails', out: 'thumbnails', file: 'src/thumbnails.ts', budget: 2 * 1024 },
  { name: '@sortie/recorder/compositor', out: 'compositor', file: 'src/compositor/index.ts', budget: 4 * 1024 },
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

// Built together with code splitting, as tsup builds the package (and as an app's bundler treats a dynamic
// import): what a page loads up front is an entry plus the chunks it imports statically; the compositor,
// which the core imports dynamically only when an element is recorded, is counted apart as "on demand".
const out = await build({
  entryPoints: Object.fromEntries(ENTRIES.map((e) => [e.out, `${root}${e.file}`])),
  bundle: true,
  minify: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: `${root}.size-out`,
  write: false,
  metafile: true,
});
const files = new Map(out.outputFiles.map((f) => [f.path.slice(`${root}.size-out/`.length), f.contents]));
const outputs = out.metafile.outputs;
const key = (name: string) => Object.keys(outputs).find((k) => k.endsWith(`/${name}`) || k === name)!;
/** An output and every output it imports statically, transitively. */
function upFront(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const i of outputs[key(name)]!.imports)
    if (i.kind === 'import-statement') upFront(i.path.split('/').pop()!, seen);
  return seen;
}
/** Outputs an entry can load with import(), less what it already has. */
function onDemand(name: string, have: Set<string>): Set<string> {
  const more = new Set<string>();
  for (const f of have)
    for (const i of outputs[key(f)]!.imports)
      if (i.kind === 'dynamic-import') for (const g of upFront(i.path.split('/').pop()!)) if (!have.has(g)) more.add(g);
  return more;
}
const sizeOf = (names: Set<string>) => {
  const parts = [...names].map((n) => files.get(n)!);
  const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
  return { min: all.length, gz: gzipSync(all, { level: 9 }).length };
};
for (const [path] of files) {
  const inputs = Object.keys(outputs[key(path)]!.inputs);
  const foreign = inputs.filter((p) => p.includes('node_modules'));
  if (foreign.length > 0) {
    console.error(`FAIL: ${path} bundles code from node_modules: ${foreign.join(', ')}`);
    failed = true;
  }
}
const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`.padEnd(11);
console.log('\nentry (loaded up front)       min        min+gz     budget');
for (const e of ENTRIES) {
  const have = upFront(`${e.out}.js`);
  const { min, gz } = sizeOf(have);
  const over = gz > e.budget;
  if (over) failed = true;
  console.log(`${e.name.padEnd(30)}${kb(min)}${kb(gz)}${kb(e.budget)}${over ? 'OVER BUDGET' : ''}`);
  const lazy = onDemand(`${e.out}.js`, have);
  if (lazy.size > 0) {
    const l = sizeOf(lazy);
    console.log(`${'  + on demand (compositor)'.padEnd(30)}${kb(l.min)}${kb(l.gz)}`);
  }
}
process.exit(failed ? 1 : 0);
