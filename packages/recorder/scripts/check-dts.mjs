// The published declarations must stand alone: every import in dist/*.d.ts is
// relative (./chunk.js). The wire types come from @sortie/contract, a private
// workspace package that is never published, so tsup inlines them
// (tsup.config.ts, dts.resolve); this fails the build if one ever leaks.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const files = readdirSync(dist).filter((f) => f.endsWith('.d.ts'));
if (files.length === 0) {
  console.error('check-dts: no .d.ts in dist/; run the build first');
  process.exit(1);
}
const bad = [];
for (const f of files) {
  const text = readFileSync(dist + f, 'utf8');
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('./')) bad.push(`${f}: ${spec}`);
    // A relative import must name a declaration file the build wrote (a re-export chain of a
    // bundled workspace package once left `from './duration.js'` pointing at nothing).
    else if (!files.includes(spec.slice(2).replace(/\.js$/, '.d.ts'))) bad.push(`${f}: ${spec} (not in dist/)`);
  }
}
if (bad.length > 0) {
  console.error(`check-dts: the declarations import packages a consumer does not have:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-dts: ${files.length} declaration files, every import relative`);
