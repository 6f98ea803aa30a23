/**
 * `pnpm --filter @sortie/server bench:explain-admin`: the query plans of the admin
 * lists' sorts and filters and of the overview's aggregates at BENCH_ROWS rows
 * (default 1,000,000), each with the index that serves it and, for comparison
 * in the same run, without it (dropped inside a transaction that is rolled
 * back). Prints the plans' top lines and execution times: what justifies each
 * index of migration 0004; the overview's queries on the totals of migration 0009
 * and, for comparison, grouped from every recording as before; the whole overview
 * as its route answers it (p50/p99); and what the totals' triggers add to a write.
 *
 * The rows: 2,000 users, 50,000 sessions, spread over 30 days; 5 % failed with
 * one of 6 reasons, 1 % still recording (no duration), the rest ready.
 * Env: BENCH_ROWS, BENCH_PG_URL (default the local server; a fresh database is made and dropped).
 */
import { sql as dsql } from 'drizzle-orm';
import postgres from 'postgres';
import { adminOverview } from '../src/admin/overview.js';
import { migrate, openDatabase } from '../src/db/client.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

class Rollback extends Error {}

/** The overview's three queries as they were before migration 0009: grouped from every recording. */
const DIRECT = {
  days: (windowStart: string) =>
    `select case when created_at >= '${windowStart}' then date_bin('1 day', created_at, timestamptz '2000-01-01 00:00:00+00') end, status, ended_by, count(*), sum(size_bytes) from recordings group by 1, 2, 3`,
  reasons: (windowStart: string) =>
    `select failure_reason, count(*) from recordings where status = 'failed' and created_at >= '${windowStart}' group by 1 order by count(*) desc, 1 limit 5`,
  users: `select user_id, max(user_name), count(*), sum(size_bytes) from recordings group by 1 order by sum(size_bytes) desc, 1 limit 10`,
};

interface Case {
  name: string;
  sql: string;
  /** The index that should serve it: dropped for the comparison run. */
  index?: string;
}

async function main() {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const dbName = `sortie_explain_${process.pid}`;
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await migrate(database);
    const t0 = Date.now();
    await sql.unsafe(`
      insert into recordings (id, session_id, user_id, user_name, status, mime_type, size_bytes, duration_ms,
                              storage_key, created_at, updated_at, last_activity_at, ended_by, failure_reason)
      select gen_random_uuid(), 'sess-' || (i % 50000), 'u-' || (i % 2000), 'User ' || (i % 2000),
             case when i % 20 = 0 then 'failed' when i % 100 = 1 then 'recording' else 'ready' end,
             'video/webm',
             case when i % 20 = 0 then 0 else (i::bigint * 7919) % 200000000 end,
             case when i % 100 = 1 then null else ((i::bigint * 31) % 3600000)::int end,
             'recordings/' || i || '.webm',
             now() - (i * (interval '30 days' / ${ROWS})), now(), now(),
             case when i % 20 = 0 then 'failed' when i % 100 = 1 then null when i % 7 = 0 then 'beacon' else 'stop' end,
             case when i % 20 = 0 then (array['Permission denied', 'network lost', 'camera unplugged',
               'NotReadableError', 'quota exceeded', 'tab crashed'])[1 + (i / 20) % 6] end
      from generate_series(1, ${ROWS}) as i`);
    await sql.unsafe('vacuum analyze');
    console.log(`seeded ${ROWS} rows in ${Date.now() - t0} ms`);

    const [mid] =
      await sql`select created_at, id from recordings order by created_at desc, id desc offset ${Math.floor(ROWS / 2)} limit 1`;
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const to = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const windowStart = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const windowDay = windowStart.slice(0, 10);
    const cases: Case[] = [
      { name: 'list, newest first', sql: `select * from recordings order by created_at desc, id desc limit 51` },
      {
        name: 'list, from/to (one day), newest first',
        sql: `select * from recordings where created_at >= '${from}' and created_at < '${to}' order by created_at desc, id desc limit 51`,
        index: 'recordings_created_idx',
      },
      {
        name: 'list, deep cursor by created',
        sql: `select * from recordings where (created_at, id) < ('${mid!.created_at.toISOString()}'::timestamptz, '${mid!.id}'::uuid) order by created_at desc, id desc limit 51`,
        index: 'recordings_created_idx',
      },
      {
        name: 'list, sort=size desc',
        sql: `select * from recordings order by size_bytes desc, id desc limit 51`,
        index: 'recordings_size_idx',
      },
      {
        name: 'list, sort=size asc, cursor',
        sql: `select * from recordings where (size_bytes, id) > (100000000::bigint, '00000000-0000-0000-0000-000000000000'::uuid) order by size_bytes asc, id asc limit 51`,
        index: 'recordings_size_idx',
      },
      {
        name: 'list, sort=duration desc',
        sql: `select * from recordings order by coalesce(duration_ms, -1) desc, id desc limit 51`,
        index: 'recordings_duration_idx',
      },
      {
        name: 'list, status=failed',
        sql: `select * from recordings where status = 'failed' order by created_at desc, id desc limit 51`,
        index: 'recordings_status_created_idx',
      },
      {
        name: 'list, status=uploading (rare: none at all here)',
        sql: `select * from recordings where status = 'uploading' order by created_at desc, id desc limit 51`,
        index: 'recordings_status_created_idx',
      },
      {
        name: 'list, session',
        sql: `select * from recordings where session_id = 'sess-123' order by created_at desc, id desc limit 51`,
        index: 'recordings_session_created_idx',
      },
      {
        name: 'count up to 1001, status=failed',
        sql: `select count(*) from (select 1 from recordings where status = 'failed' limit 1001) s`,
        index: 'recordings_status_created_idx',
      },
      {
        name: 'overview, grouped from every recording (before migration 0009): per day by status and ending, with bytes',
        sql: DIRECT.days(windowStart),
      },
      {
        name: 'overview, grouped from every recording (before migration 0009): top failure reasons (30 days)',
        sql: DIRECT.reasons(windowStart),
        index: 'recordings_status_created_idx',
      },
      {
        name: 'overview, grouped from every recording (before migration 0009): largest users',
        sql: DIRECT.users,
      },
      {
        name: 'overview: per day by status and ending, with bytes (recording_day_totals)',
        sql: `select case when day >= '${windowDay}'::date then to_char(day, 'YYYY-MM-DD') end, status, nullif(ended_by, ''), sum(recordings), sum(bytes) from recording_day_totals group by 1, 2, 3`,
      },
      {
        name: 'overview: top failure reasons, 30 days (recording_failure_totals)',
        sql: `select case when no_reason then null else reason end, sum(recordings) from recording_failure_totals where day >= '${windowDay}'::date group by no_reason, reason having sum(recordings) > 0 order by sum(recordings) desc, no_reason, reason limit 5`,
      },
      {
        name: 'overview: largest users (recording_user_totals, recording_user_names)',
        sql: `select t.user_id, (select max(n.user_name) filter (where not n.no_name) from recording_user_names n where n.user_id = t.user_id and n.recordings > 0), t.recordings, t.bytes from recording_user_totals t where t.recordings > 0 order by t.bytes desc, t.user_id limit 10`,
        index: 'recording_user_totals_bytes_idx',
      },
    ];

    const explain = async (q: string, drop?: string): Promise<{ lines: string[]; ms: number }> => {
      // Best of three: the first run warms the cache.
      let best: { lines: string[]; ms: number } | null = null;
      for (let i = 0; i < 3; i++) {
        // The transaction is always rolled back (by throwing), so a dropped index comes back.
        let rows: postgres.RowList<postgres.Row[]> | null = null;
        await sql
          .begin(async (tx) => {
            if (drop) await tx.unsafe(`drop index ${drop}`);
            rows = await tx.unsafe(`explain (analyze, costs off) ${q}`);
            throw new Rollback();
          })
          .catch((err: unknown) => {
            if (!(err instanceof Rollback)) throw err;
          });
        const lines = ((rows ?? []) as postgres.Row[]).map((r) => String(Object.values(r)[0]));
        const ms = Number(/Execution Time: ([\d.]+)/.exec(lines.join('\n'))?.[1] ?? NaN);
        if (!best || ms < best.ms) best = { lines, ms };
      }
      return best!;
    };

    for (const c of cases) {
      const withIdx = await explain(c.sql);
      console.log(`\n## ${c.name}: ${withIdx.ms.toFixed(2)} ms`);
      for (const l of withIdx.lines.filter((l) => !/Planning|Execution/.test(l)).slice(0, 6)) console.log(`   ${l}`);
      if (c.index) {
        const without = await explain(c.sql, c.index);
        console.log(`   without ${c.index}: ${without.ms.toFixed(2)} ms (${(without.ms / withIdx.ms).toFixed(1)}×)`);
        for (const l of without.lines.filter((l) => !/Planning|Execution/.test(l)).slice(0, 3))
          console.log(`     ${l}`);
      }
    }

    // The whole overview as the route answers it (its three queries at once): p50 and p99 of 200 answers from the
    // totals; the same three queries grouped from every recording (before migration 0009), best of three.
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await adminOverview(database.db, { now: () => new Date() }, 30);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
    let direct = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await Promise.all([
        database.db.execute(dsql.raw(DIRECT.days(windowStart))),
        database.db.execute(dsql.raw(DIRECT.reasons(windowStart))),
        database.db.execute(dsql.raw(DIRECT.users)),
      ]);
      direct = Math.min(direct, performance.now() - t);
    }
    console.log(
      `\n## GET /api/admin/overview?days=30 (adminOverview, three queries at once on the totals), 200 answers: ` +
        `p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms`,
    );
    console.log(
      `   the same three queries grouped from every recording (before migration 0009): ${direct.toFixed(0)} ms`,
    );

    // What the triggers add to a write: single-row updates of size_bytes (as a part request makes on S3), with the
    // triggers and, in a transaction rolled back, without them. Best of three rounds of 500.
    const ids = (await sql`select id from recordings order by created_at desc limit 500`).map((r) => String(r.id));
    const updates = async (disable: boolean): Promise<number> => {
      let ms = NaN;
      await sql
        .begin(async (tx) => {
          if (disable) await tx.unsafe('alter table recordings disable trigger user');
          const t = performance.now();
          for (const id of ids) await tx`update recordings set size_bytes = size_bytes + 1000 where id = ${id}`;
          ms = (performance.now() - t) / ids.length;
          throw new Rollback();
        })
        .catch((err: unknown) => {
          if (!(err instanceof Rollback)) throw err;
        });
      return ms;
    };
    let withTriggers = Infinity;
    let withoutTriggers = Infinity;
    for (let i = 0; i < 3; i++) {
      withTriggers = Math.min(withTriggers, await updates(false));
      withoutTriggers = Math.min(withoutTriggers, await updates(true));
    }
    console.log(
      `\n## one-row update of size_bytes: ${withTriggers.toFixed(3)} ms with the totals' triggers, ` +
        `${withoutTriggers.toFixed(3)} ms without (best of 3 rounds of 500, one connection)`,
    );

    // Skewed data: the failures are all among the oldest rows (an old incident). Newest first, the created index
    // would read past every newer row before it finds one; the (status, created_at) index goes straight to them.
    await sql.unsafe(`update recordings set status = 'ready' where status = 'failed'`);
    await sql.unsafe(
      `update recordings set status = 'failed' where id in (select id from recordings order by created_at asc limit ${Math.floor(ROWS / 20)})`,
    );
    await sql.unsafe('vacuum analyze recordings');
    const skewed = `select * from recordings where status = 'failed' order by created_at desc, id desc limit 51`;
    const withIdx = await explain(skewed);
    const without = await explain(skewed, 'recordings_status_created_idx');
    console.log(`\n## list, status=failed, failures all among the oldest 5 %: ${withIdx.ms.toFixed(2)} ms`);
    for (const l of withIdx.lines.filter((l) => !/Planning|Execution/.test(l)).slice(0, 3)) console.log(`   ${l}`);
    console.log(
      `   without recordings_status_created_idx: ${without.ms.toFixed(2)} ms (${(without.ms / withIdx.ms).toFixed(1)}×)`,
    );
    for (const l of without.lines.filter((l) => !/Planning|Execution/.test(l)).slice(0, 3)) console.log(`     ${l}`);
  } finally {
    await sql.end();
    await database.close();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
