/** Builds the web pages once, so the service serves what the run tests (apps/web/dist). */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup(): void {
  if (process.env.SORTIE_E2E_SKIP_WEB_BUILD === '1') return;
  execFileSync('pnpm', ['--filter', '@sortie/web', 'build'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
