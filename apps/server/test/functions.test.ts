/**
 * The SQL functions, one file each in src/db/functions, applied after the migrations by version
 * (db/client.ts, applyFunctions): a fresh database gets every one; a database that has a newer version keeps
 * it when a replica of an older release starts; a newer file replaces it. And the committed versions move with
 * the files' text, so that no change to a function is left unapplied.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFunctions, FUNCTIONS_DIR, functionFiles, migrate, MIGRATION_LOCK_ID } from '../src/db/client.js';
import { testDatabase } from './helpers.js';

let db: Awaited<ReturnType<typeof testDatabase>>;
let sql: Sql;
const dirs: string[] = [];
beforeAll(async () => {
  db = await testDatabase();
  sql = (db.db as unknown as { $client: Sql }).$client;
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await db?.close();
});

const body = async (name: string) =>
  (await sql<{ src: string }[]>`select prosrc as src from pg_proc where proname = ${name}`)[0]?.src ?? null;

/** A copy of the function files with sortie_request_part's version and one line of its body changed. */
async function variant(version: number, marker: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sortie-functions-'));
  dirs.push(dir);
  await cp(FUNCTIONS_DIR, dir, { recursive: true });
  const file = path.join(dir, 'sortie_request_part.sql');
  const text = (await readFile(file, 'utf8'))
    .replace(/^-- version: \d+\n/, `-- version: ${version}\n`)
    .replace('DECLARE\n', `DECLARE\n  -- ${marker}\n`);
  await writeFile(file, text);
  return dir;
}

describe('the SQL functions', () => {
  it('are all created on a fresh database, each recorded at its file’s version', async () => {
    const files = await functionFiles();
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['sortie_create_recording', 'sortie_request_part', 'sortie_user_reserved']),
    );
    const rows = await sql<{ name: string; version: number; sha256: string }[]>`
      select name, version, sha256 from sortie_functions order by name`;
    expect(rows).toEqual(files.map((f) => ({ name: f.name, version: f.version, sha256: f.sha256 })));
    expect(await body('sortie_request_part')).toContain('4194304');
    // Applying again changes nothing.
    expect(await applyFunctions(sql)).toEqual([]);
  });

  it('keep a newer version when an older release starts, and take a newer file', async () => {
    const current = (await functionFiles()).find((f) => f.name === 'sortie_request_part')!;
    const older = await variant(current.version - 1, 'older release');
    expect(await applyFunctions(sql, older)).toEqual([]);
    expect(await body('sortie_request_part')).not.toContain('older release');

    const newer = await variant(current.version + 1, 'newer release');
    expect(await applyFunctions(sql, newer)).toEqual(['sortie_request_part']);
    expect(await body('sortie_request_part')).toContain('newer release');
    const [row] = await sql<
      { version: number }[]
    >`select version from sortie_functions where name = 'sortie_request_part'`;
    expect(row!.version).toBe(current.version + 1);
  });

  it('have their committed versions and checksums in versions.json: a changed file needs a new version', async () => {
    const committed = JSON.parse(await readFile(path.join(FUNCTIONS_DIR, 'versions.json'), 'utf8')) as Record<
      string,
      { version: number; sha256: string }
    >;
    const files = await functionFiles();
    // On a mismatch: raise the file's "-- version: N" and record its version and sha256 here.
    expect(Object.fromEntries(files.map((f) => [f.name, { version: f.version, sha256: f.sha256 }]))).toEqual(committed);
  });
});

describe('a start that finds the migrations locked', () => {
  it('gives up after its lock timeout instead of waiting for ever, and migrates once the lock is free', async () => {
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
      await expect(migrate(db, { lockTimeoutMs: 300 })).rejects.toThrow(/lock timeout/);
    } finally {
      await holder`select pg_advisory_unlock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
      holder.release();
    }
    await migrate(db, { lockTimeoutMs: 300 });
  });
});
