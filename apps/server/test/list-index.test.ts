/**
 * The newest-first lists read their first page from an index, not from a sort
 * of every row (issue 13): the indexes' null order must be PostgreSQL's own
 * for `ORDER BY … DESC` (NULLS FIRST), or the planner cannot use them for the
 * sort. Checked on the plan with sorting disabled: a plan that still needs a
 * Sort node has no index in the query's order.
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
  ])('%s: the first page is read from an index in the query order, with no sort', async (_name, query) => {
    const p = await plan(query);
    expect(p).toMatch(/Index Scan/);
    expect(p).not.toMatch(/Sort/);
  });
});
