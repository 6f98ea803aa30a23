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
/** The outputs `have` loads with import() (each with what it imports statically), by the module imported. */
function dynamicImports(have: Set<string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of have)
    for (const i of outputs[key(f)]!.imports) if (i.kind === 'dynamic-import') found.set(i.path.split('/').pop()!, f);
  return found;
}
/** What loading output `name` on demand adds to `have`. */
const added = (name: string, have: Set<string>) => new Set([...upFront(name)].filter((g) => !have.has(g)));
/** A chunk's name for the table: the source module it was made for. */
const what = (name: string) =>
  name.startsWith('take-')
    ? 'engine (start)'
    : name.startsWith('compositor-')
      ? 'compositor (element)'
      : name.startsWith('tail-uploader-')
        ? 'tail uploader (S3)'
        : name;
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
console.log(`\n${'entry (loaded up front)'.padEnd(36)}min        min+gz     budget`);
for (const e of ENTRIES) {
  const have = upFront(`${e.out}.js`);
  const { min, gz } = sizeOf(have);
  const over = gz > e.budget;
  if (over) failed = true;
  console.log(`${e.name.padEnd(36)}${kb(min)}${kb(gz)}${kb(e.budget)}${over ? 'OVER BUDGET' : ''}`);
  // Loaded later with import(), one level after another (the engine loads the compositor).
  let level = have;
  for (let more = dynamicImports(level); more.size > 0; more = dynamicImports(level)) {
    const next = new Set(level);
    for (const [name] of more) {
      if (next.has(name)) continue;
      const l = sizeOf(added(name, next));
      console.log(`${`  + on demand: ${what(name)}`.padEnd(36)}${kb(l.min)}${kb(l.gz)}`);
      for (const g of upFront(name)) next.add(g);
    }
    if (next.size === level.size) break;
    level = next;
  }
}

// The core's chunks one by one, and what a page that records loads in all, by source kind: gzipped as
// separate files (as they travel), so a total is the sum of its files, not one stream.
const core = upFront('index.js');
const engine = [...dynamicImports(core).keys()].find((n) => n.startsWith('take-'))!;
const withEngine = new Set([...core, ...upFront(engine)]);
const compositor = [...dynamicImports(withEngine).keys()].find((n) => n.startsWith('compositor-'))!;
const withCompositor = new Set([...withEngine, ...upFront(compositor)]);
const tails = [...dynamicImports(withEngine).keys()].find((n) => n.startsWith('tail-uploader-'))!;
const withTails = new Set([...withEngine, ...upFront(tails)]);
const all = new Set([...withCompositor, ...withTails]);
const each = (names: Set<string>) =>
  [...names].reduce(
    (t, n) => {
      const c = files.get(n)!;
      return { min: t.min + c.length, gz: t.gz + gzipSync(c, { level: 9 }).length };
    },
    { min: 0, gz: 0 },
  );
console.log(`\n${'@sortie/recorder, file by file'.padEnd(42)}min        min+gz`);
for (const n of all) {
  const when = core.has(n)
    ? 'up front'
    : withEngine.has(n)
      ? 'at start()'
      : withCompositor.has(n)
        ? 'element source'
        : 'S3 backend';
  const { min, gz } = each(new Set([n]));
  console.log(`${`${n} (${when})`.padEnd(42)}${kb(min)}${kb(gz)}`);
}
console.log('\n@sortie/recorder, what a page loads in all (files gzipped one by one)');
for (const [label, names] of [
  ['before start() (created, not recording)', core],
  ['recording a canvas or a MediaStream', withEngine],
  ['recording an element (compositor)', withCompositor],
  ['a canvas or a MediaStream, S3 backend', withTails],
  ['an element, S3 backend', all],
] as const) {
  const { min, gz } = each(names);
  console.log(`${label.padEnd(42)}${kb(min)}${kb(gz)}`);
}
process.exit(failed ? 1 : 0);
