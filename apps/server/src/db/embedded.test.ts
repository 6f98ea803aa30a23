/**
 * The embedded default (no DATABASE_URL): the service starts its own PostgreSQL
 * server in SORTIE_DATA_DIR. Its data outlives a restart; a throwaway one
 * (memory://, tests) leaves nothing behind. `pnpm test:start` runs the whole
 * README start on it.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from './client.js';
import { settings } from './schema.js';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
