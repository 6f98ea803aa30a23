/**
 * The newest-first lists read their first page from an index, not from a sort
 * of every row, so a page costs the same however many rows there are: the
 * indexes' null order must be PostgreSQL's own for `ORDER BY … DESC` (NULLS
 * FIRST), or the planner cannot use them for the sort. Checked on the plan
 * with sorting disabled: a plan that still needs a Sort node has no index in
 * the query's order.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from './helpers.js';

let db: Awaited<ReturnType<typeof testDatabase>>;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(async () => {
  await db?.close();
});

async function plan(query: string): Promise<string> {
  return db.db.transaction(async (tx) => {
    await tx.execute(sql.raw('set local enable_sort = off'));
    await tx.execute(sql.raw('set local enable_seqscan = off'));
    const res = await tx.execute(sql.raw(`explain ${query}`));
    const rows = ((res as { rows?: unknown[] }).rows ?? (res as unknown as unknown[])) as Record<string, string>[];
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

describe('list indexes', () => {
  it.each([
    ['every recording', `select * from recordings order by created_at desc, id desc limit 51`],
    ['one user', `select * from recordings where user_id = 'u-1' order by created_at desc, id desc limit 51`],
    ['the audit trail', `select * from audit_log order by "at" desc, id desc limit 51`],
    // The admin list's sorts and filters: each is an index range in the list's order, both ways.
    ['largest first', `select * from recordings order by size_bytes desc, id desc limit 51`],
    ['smallest first', `select * from recordings order by size_bytes asc, id asc limit 51`],
    ['longest first', `select * from recordings order by coalesce(duration_ms, -1) desc, id desc limit 51`],
    ['shortest first', `select * from recordings order by coalesce(duration_ms, -1) asc, id asc limit 51`],
    ['oldest first', `select * from recordings order by created_at asc, id asc limit 51`],
    [
      'a time range',
      `select * from recordings where created_at >= '2026-01-01Z' and created_at < '2026-02-01Z' order by created_at desc, id desc limit 51`,
    ],
    [
      'a cursor by size',
      `select * from recordings where (size_bytes, id) < (1000::bigint, '${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}'::uuid) order by size_bytes desc, id desc limit 51`,
    ],
    ['one status', `select * from recordings where status = 'failed' order by created_at desc, id desc limit 51`],
    ['one session', `select * from recordings where session_id = 's-1' order by created_at desc, id desc limit 51`],
  ])('%s: the first page is read from an index in the query order, with no sort', async (_name, query) => {
    const p = await plan(query);
    expect(p).toMatch(/Index Scan/);
    expect(p).not.toMatch(/Sort/);
  });
});
