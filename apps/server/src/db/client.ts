/**
 * One database type above one driver: `postgres` (postgres-js) against DATABASE_URL,
 * or, when it is unset, against the embedded PostgreSQL server (./embedded.ts) that
 * this process starts in SORTIE_DATA_DIR. Same SQL, same driver, one code path.
 */
import { randomBytes } from 'node:crypto';
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

/**
 * Applies the committed migrations, then makes sure the settings row exists. Several replicas may start at once
 * on one database: drizzle's migrator takes no lock (two processes both see an empty journal and both run
 * `CREATE TABLE`, and PostgreSQL answers one of them with a duplicate key in pg_type), so the whole of it runs
 * under a session advisory lock held on a connection of its own. The others wait for it, then find the journal
 * up to date. A replica that dies holding the lock loses its connection, and PostgreSQL releases the lock.
 */
export async function migrate(database: Database): Promise<void> {
  const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
  const client = (database.db as unknown as { $client: Sql }).$client;
  const conn = await client.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_ID.toString()}::bigint)`;
    try {
      // The migrator runs on the pool's other connections: the lock is the session's, not a transaction's.
      await run(database.db as never, { migrationsFolder: MIGRATIONS_DIR });
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
