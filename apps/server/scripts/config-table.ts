/** `pnpm docs:config`: writes the configuration table into docs/configuration.md from the schema in src/config.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withConfigTable } from '../src/config-table.js';

const doc = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const before = readFileSync(doc, 'utf8');
const after = withConfigTable(before);
if (after === before) console.log('docs/configuration.md: the table is up to date');
else {
  writeFileSync(doc, after);
  console.log('docs/configuration.md: the table is written');
}
