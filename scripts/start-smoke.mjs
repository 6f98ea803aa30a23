// Runs the README's start command (`pnpm start`) exactly as a newcomer would,
// with no database server and no configuration beyond an ephemeral port, and
// checks that /healthz answers 200 and the pages are served. Part of `pnpm test`.
import { spawn } from 'node:child_process';

const child = spawn('pnpm', ['start'], {
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: '' },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
let out = '';
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no "listening" line within 180 s:\n${out}`)), 180_000);
  child.stdout.on('data', (d) => {
    out += d.toString();
    const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(Number(m[1]));
    }
  });
  child.on('exit', (code) => reject(new Error(`pnpm start exited with ${code}:\n${out}`)));
});

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`  ✓ ${name}`);
  } catch (err) {
    failed++;
    console.log(`  ✗ ${name}: ${err.message}`);
  }
}
const base = `http://127.0.0.1:${port}`;
await check('GET /healthz answers 200', async () => {
  const r = await fetch(`${base}/healthz`);
  if (r.status !== 200) throw new Error(`status ${r.status}`);
});
await check('GET /readyz answers 200 (embedded database and local disk)', async () => {
  const r = await fetch(`${base}/readyz`);
  if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`);
});
await check('the session page is served at /', async () => {
  const r = await fetch(`${base}/`);
  const html = await r.text();
  if (r.status !== 200 || !html.includes('<html')) throw new Error(`status ${r.status}`);
});
await check('demo mode and recording are on', async () => {
  const { token } = await (
    await fetch(`${base}/api/demo/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"as":"user"}',
    })
  ).json();
  const r = await fetch(`${base}/api/recordings/config`, { headers: { authorization: `Bearer ${token}` } });
  const cfg = await r.json();
  if (r.status !== 200 || cfg.enabled !== true || cfg.backend !== 'local')
    throw new Error(`status ${r.status}: ${JSON.stringify(cfg)}`);
});

process.kill(-child.pid, 'SIGTERM');
console.log(`start-smoke: ${4 - failed} of 4 checks passed`);
process.exit(failed ? 1 : 0);
