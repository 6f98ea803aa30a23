/**
 * One run at a time across every replica: a PostgreSQL transaction-scoped
 * advisory lock (pg_try_advisory_xact_lock). The lock is released by the
 * database itself when the transaction ends, also when a replica dies, so no
 * home-made lock row can be left behind. A replica that does not get the lock
 * does nothing: another one is doing the work.
 *
 * The work runs on the transaction's handle: work that used the outer handle
 * inside `fn` would take a second connection of the pool (or, with a pool of
 * one, wait for itself).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';

/** Lock ids, fixed numbers so every replica and every version agrees on them (the migrations' is MIGRATION_LOCK_ID in db/client.ts). */
export const LOCK_IDS = {
  retention: 7_365_100_001n,
  sweeper: 7_365_100_002n,
  sealer: 7_365_100_003n,
} as const;

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

export async function withJobLock<T>(db: Db, lockId: bigint, fn: (tx: Db) => Promise<T>): Promise<LockResult<T>> {
  return db.transaction(async (tx) => {
    const res = (await tx.execute(
      sql`select pg_try_advisory_xact_lock(${lockId.toString()}::bigint) as locked`,
    )) as unknown;
    // postgres-js answers an array of rows.
    const rows = res as { locked: boolean }[];
    if (rows[0]?.locked !== true) return { acquired: false } as const;
    return { acquired: true, value: await fn(tx as unknown as Db) } as const;
  });
}
