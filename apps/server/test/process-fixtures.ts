/**
 * The service as its own process (`src/index.ts` through tsx), as it runs in production: for the tests that
 * signal it, kill it, or start several replicas of it. Also used by the SDK's browser tests
 * (packages/recorder/test/browser/replicas.test.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TEST_DB, TEST_SECRET, testDatabase } from './helpers.js';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));

export type LogLine = Record<string, unknown>;

/** Starts `src/index.ts` as its own process and collects its JSON log lines. */
export function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: SERVER_DIR,
    // Only what the service needs: no SORTIE_* of the developer's shell leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (raw) => {
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of [...waiters]) {
      if (!w.match(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (msg: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = lines.find((l) => l.msg === msg);
      if (found) return resolve(found);
      waiters.push({ match: (l) => l.msg === msg, resolve });
      void exited.then((code) => reject(new Error(`process exited (${code}) before logging "${msg}": ${stderr}`)));
    });
  return { child, lines, waitFor, exited, stderr: () => stderr };
}

/**
 * The environment of a service process on a folder of its own (and, on PostgreSQL, a fresh database), removed
 * by `cleanups` after the test.
 */
export async function serviceEnv(
  prefix: string,
  cleanups: (() => Promise<unknown>)[],
  /** databaseUrl: a database the caller made (several replicas on one); default a fresh migrated one. */
  opts: { databaseUrl?: string } = {},
): Promise<Record<string, string>> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_AUTH_JWT_SECRET: TEST_SECRET,
    SORTIE_DATA_DIR: path.join(dir, 'data'),
    SORTIE_RECORDING_STORAGE_PATH: path.join(dir, 'recordings'),
  };
  if (opts.databaseUrl) {
    env.DATABASE_URL = opts.databaseUrl;
  } else if (TEST_DB === 'postgres') {
    const db = await testDatabase('postgres');
    cleanups.push(() => db.close());
    env.DATABASE_URL = db.url!;
  }
  return env;
}
