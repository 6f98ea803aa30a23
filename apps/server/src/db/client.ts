/**
 * One database type above one driver: `postgres` (postgres-js) against DATABASE_URL,
 * or, when it is unset, against the embedded PostgreSQL server (./embedded.ts) that
 * this process starts in SORTIE_DATA_DIR. Same SQL, same driver, one code path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  /** 'embedded' when this process started the server itself (no DATABASE_URL). */
  kind: 'postgres' | 'embedded';
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
/** The SQL functions, one file each (`-- version: N` on its first line), applied after the migrations. */
export const FUNCTIONS_DIR = fileURLToPath(new URL('./functions', import.meta.url));

export interface OpenOptions {
  databaseUrl: string | null;
  /** Embedded server's folder (its cluster lives in <dataDir>/pgdata); 'memory://' for a throwaway one removed on close (tests). */
  dataDir: string;
  /** Where the embedded server's own log lines go (default: dropped). */
  log?: (line: string) => void;
  /** What the embedded server's start chose and the administrator should know (where its data went). */
  notice?: (msg: string, fields: Record<string, unknown>) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  if (opts.databaseUrl) {
    // onnotice: silence "relation already exists" notices from migrations.
    const client = postgres(opts.databaseUrl, { max: 10, onnotice: () => {} });
    const db = drizzle(client, { schema }) as unknown as Db;
    return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
  }
  const { startEmbeddedPostgres } = await import('./embedded.js');
  const throwaway = opts.dataDir.startsWith('memory://');
  const server = await startEmbeddedPostgres({
    dataDir: throwaway ? null : path.resolve(opts.dataDir, 'pgdata'),
    log: opts.log,
    notice: opts.notice,
  });
  const client = postgres({ ...server.connection, max: 10, onnotice: () => {} });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'embedded',
    async close() {
      await client.end({ timeout: 5 });
      await server.stop();
    },
  };
}

/**
 * The advisory lock id the migrations run under; the jobs' ids (jobs/lock.ts, LOCK_IDS) are its neighbours.
 * A fixed number, so every replica and every version agrees on it.
 */
export const MIGRATION_LOCK_ID = 7_365_100_000n;

/** How long a start waits for another replica's migrations before it gives up. */
export const MIGRATION_LOCK_TIMEOUT_MS = 10 * 60_000;

/**
 * Applies the committed migrations, then makes sure the settings row exists. Several replicas may start at once
 * on one database: drizzle's migrator takes no lock (two processes both see an empty journal and both run
 * `CREATE TABLE`, and PostgreSQL answers one of them with a duplicate key in pg_type), so the whole of it runs
 * under a session advisory lock held on a connection of its own. The others wait for it, then find the journal
 * up to date. A replica that dies holding the lock loses its connection, and PostgreSQL releases the lock.
 */
export async function migrate(
  database: Database,
  { lockTimeoutMs = MIGRATION_LOCK_TIMEOUT_MS }: { lockTimeoutMs?: number } = {},
): Promise<void> {
  const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
  const client = (database.db as unknown as { $client: Sql }).$client;
  const conn = await client.reserve();
  try {
    // A lock held for longer than any migration takes is a replica stuck mid-migration: fail the start, and
    // let the orchestrator restart it, rather than wait for ever.
    await conn`select set_config('lock_timeout', ${String(lockTimeoutMs)}, false)`;
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
    await conn`select set_config('lock_timeout', '0', false)`;
    try {
      // The migrator runs on the pool's other connections: the lock is the session's, not a transaction's.
      await run(database.db as never, { migrationsFolder: MIGRATIONS_DIR });
      await applyFunctions(client);
      await database.db
        .insert(schema.settings)
        .values({ id: 1, autoRecord: false, signingKey: randomBytes(32).toString('base64url') })
        .onConflictDoNothing();
    } finally {
      await conn`select pg_advisory_unlock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
    }
  } finally {
    conn.release();
  }
}

export interface FunctionFile {
  name: string;
  version: number;
  sha256: string;
  sql: string;
}

/** The function files of this build, in name order. */
export async function functionFiles(dir = FUNCTIONS_DIR): Promise<FunctionFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      const version = /^-- version: (\d+)\n/.exec(sql)?.[1];
      if (!version) throw new Error(`${file}: the first line must be "-- version: N"`);
      const sha256 = createHash('sha256').update(sql).digest('hex');
      return { name: file.slice(0, -'.sql'.length), version: Number(version), sha256, sql };
    }),
  );
}

/**
 * Creates or replaces each function whose file's version is newer than the one the database records, in a
 * transaction with that record. Only newer: during a rolling update, a replica of the previous release that
 * starts after the new one must not put back its older functions. A file changed without a new version is
 * not applied, and the start says so (a test checks that every file's version moves with its text).
 */
export async function applyFunctions(client: Sql, dir = FUNCTIONS_DIR): Promise<string[]> {
  const applied: string[] = [];
  for (const f of await functionFiles(dir)) {
    await client.begin(async (tx) => {
      const [have] = await tx<{ version: number; sha256: string }[]>`
        select version, sha256 from sortie_functions where name = ${f.name} for update`;
      if (have && have.version >= f.version) {
        if (have.version === f.version && have.sha256 !== f.sha256) {
          process.emitWarning(
            `${f.name}.sql changed without a new version: the database keeps version ${have.version}`,
          );
        }
        return;
      }
      await tx.unsafe(f.sql);
      await tx`insert into sortie_functions (name, version, sha256) values (${f.name}, ${f.version}, ${f.sha256})
        on conflict (name) do update set version = excluded.version, sha256 = excluded.sha256, applied_at = now()`;
      applied.push(f.name);
    });
  }
  return applied;
}
