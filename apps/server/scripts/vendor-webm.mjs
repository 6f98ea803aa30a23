// The compiled service (dist/, what the image runs with plain `node`) cannot load @sortie/webm
// from the workspace: that package is TypeScript source, read directly by tsx, vitest and the
// SDK's bundler. So `build:dist` compiles it into dist/webm/ and points the compiled imports of
// '@sortie/webm' there; the image then needs no copy of the package at all.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const server = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(server, 'dist');
const out = path.join(dist, 'webm');
const tsc = path.join(server, 'node_modules', '.bin', 'tsc');
execFileSync(tsc, ['-p', path.join(server, '../../packages/webm/tsconfig.build.json'), '--outDir', out], {
  stdio: 'inherit',
});

let rewritten = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (file === out) continue;
    if (statSync(file).isDirectory()) walk(file);
    else if (name.endsWith('.js')) {
      const text = readFileSync(file, 'utf8');
      let rel = path.relative(path.dirname(file), path.join(out, 'index.js')).split(path.sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      const next = text.replace(
        /(from\s*|import\s*\(\s*)(['"])@sortie\/webm\2/g,
        (_, lead, q) => `${lead}${q}${rel}${q}`,
      );
      if (next !== text) {
        writeFileSync(file, next);
        rewritten++;
      }
    }
  }
}
walk(dist);
if (rewritten === 0) {
  console.error('vendor-webm: no compiled file imports @sortie/webm; is this script still needed?');
  process.exit(1);
}
console.log(`vendor-webm: dist/webm compiled, ${rewritten} import(s) of @sortie/webm pointed at it`);
