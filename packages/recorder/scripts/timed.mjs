// Runs a command and prints how long it took, with its label: the CI log's figure for one suite of the package
// (`node scripts/timed.mjs <label> <command> [args…]`). The command's exit status is this script's.
import { spawnSync } from 'node:child_process';

const [label, cmd, ...args] = process.argv.slice(2);
if (!label || !cmd) {
  console.error('usage: node scripts/timed.mjs <label> <command> [args…]');
  process.exit(2);
}
const t0 = Date.now();
const r = spawnSync(cmd, args, { stdio: 'inherit' });
console.log(`${label} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
