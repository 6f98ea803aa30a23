/**
 * Replicas started at once on one fresh database: four real service processes (the process entry, as a
 * Deployment's pods run it), each on its own port, all migrate the same empty database at the same moment. Every
 * one must become ready and none may exit. Always on real PostgreSQL: the replicas share a database server there.
 * Migrations run under an advisory lock (db/client.ts, migrate); without it, replicas that reach the migrations
 * together die with `duplicate key value violates unique constraint …`.
 */
import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_ID } from '../src/db/client.js';
import { LOCK_IDS } from '../src/jobs/lock.js';
import { testDatabase } from './helpers.js';
import { serviceEnv, startProcess } from './process-fixtures.js';

const REPLICAS = 4;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('replicas starting at once', () => {
  it(
    `${REPLICAS} processes on one fresh database all migrate it, become ready, and keep running`,
    { timeout: 180_000 },
    async () => {
      const db = await testDatabase('postgres', { migrated: false });
      cleanups.push(() => db.close());
      const envs = await Promise.all(
        Array.from({ length: REPLICAS }, () => serviceEnv('sortie-replicas-', cleanups, { databaseUrl: db.url! })),
      );

      // The gate: an uncommitted `CREATE SCHEMA drizzle` (the migrator's first statement), so that every replica
      // reaches the migrations before any of them can go on, however far apart the processes happen to start. Once all
      // four wait on a lock (the schema's, or the migration lock), it is rolled back and they go on at the same moment.
      const sql = postgres(db.url!, { max: 2, onnotice: () => {} });
      cleanups.push(() => sql.end());
      const gate = await sql.reserve();
      await gate`begin`;
      await gate`create schema drizzle`;

      const procs = envs.map((env) => startProcess(env));
      const children: ChildProcess[] = procs.map((p) => p.child);
      cleanups.push(async () => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      });
      for (;;) {
        const gone = procs.find((p) => p.child.exitCode !== null);
        if (gone) throw new Error(`a replica exited before the migrations: ${gone.stderr()}`);
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
        if (row!.n >= REPLICAS) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await gate`rollback`;
      gate.release();

      const ports = await Promise.all(
        procs.map(async (p) => ((await p.waitFor('listening')) as { port: number }).port),
      );
      expect(new Set(ports).size).toBe(REPLICAS);
      for (const port of ports) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: 'ready' });
      }
      for (const p of procs) expect(p.child.exitCode).toBeNull();
      expect(procs.map((p) => p.stderr())).toEqual(procs.map(() => ''));

      // The schema is there once, and every migration was recorded once.
      const journal = await sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
      expect(new Set(journal.map((r) => r.hash)).size).toBe(journal.length);
      expect(journal.length).toBeGreaterThan(0);
      // No replica holds the migration lock once it serves.
      // In this database: the lock id is the same in every database of the server, where other tests migrate.
      const held = await sql`select 1 from pg_locks where locktype = 'advisory'
      and database = (select oid from pg_database where datname = current_database())
      and ((classid::bigint << 32) | objid::bigint) = ${MIGRATION_LOCK_ID.toString()}::bigint`;
      expect(held).toHaveLength(0);
      expect(Object.values(LOCK_IDS)).not.toContain(MIGRATION_LOCK_ID);

      // A replica that starts on the migrated database finds nothing to do.
      const late = startProcess(await serviceEnv('sortie-replicas-', cleanups, { databaseUrl: db.url! }));
      children.push(late.child);
      await late.waitFor('listening');
      expect(await sql`select hash from drizzle.__drizzle_migrations`).toHaveLength(journal.length);

      for (const p of [...procs, late]) p.child.kill('SIGTERM');
      expect(await Promise.all([...procs, late].map((p) => p.exited))).toEqual([...procs, late].map(() => 0));
    },
  );
});
