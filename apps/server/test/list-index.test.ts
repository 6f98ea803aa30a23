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

async function plan(query: string, noSort = true): Promise<string> {
  return db.db.transaction(async (tx) => {
    if (noSort) await tx.execute(sql.raw('set local enable_sort = off'));
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

/** The span expression of recordingSpan (schema.ts), as the list writes it. */
const SPAN = `tstzrange(created_at, case when status in ('recording', 'uploading') then null else greatest(created_at, coalesce(completed_at, updated_at)) end, '[]')`;

/**
 * The live list's filters are narrow by nature (what changed in the last seconds, a prefix typed by hand, one
 * hour of a day): each is read from its own index, and the few rows it finds are sorted, rather than walking the
 * created index past every row that does not match. Checked with sequential scans off and sorting allowed.
 */
describe('live list indexes', () => {
  it.each([
    [
      'changed since',
      `select * from recordings where updated_at >= '2026-01-01Z' order by created_at desc, id desc limit 201`,
      /recordings_updated_idx/,
    ],
    [
      'recorded between (overlap)',
      `select * from recordings where ${SPAN} && tstzrange('2026-01-01Z', '2026-01-02Z', '[)') order by created_at desc, id desc limit 51`,
      /recordings_span_idx/,
    ],
    [
      'a user prefix (id or name)',
      `select * from recordings where (lower(user_id) like 'ada%' or lower(user_name) like 'ada%') order by created_at desc, id desc limit 51`,
      /recordings_user_id_prefix_idx[\s\S]*recordings_user_name_prefix_idx/,
    ],
    [
      'a session prefix',
      `select * from recordings where lower(session_id) like 'desk%' order by created_at desc, id desc limit 51`,
      /recordings_session_prefix_idx/,
    ],
  ])('%s: read from its own index', async (_name, query, index) => {
    const p = await plan(query, false);
    expect(p).toMatch(index);
    expect(p).not.toMatch(/Seq Scan/);
  });

  it('recorded between (overlap) with an end: also a range of the created index in the list order', async () => {
    const p = await plan(
      `select * from recordings where ${SPAN} && tstzrange('2026-01-01Z', '2026-01-02Z', '[)') and created_at < '2026-01-02Z' order by created_at desc, id desc limit 51`,
    );
    expect(p).toMatch(/Index Scan/);
    expect(p).not.toMatch(/Sort/);
  });
});
