/**
 * `pnpm bench:list`: the admin recordings list (GET /api/admin/recordings,
 * through the whole app: auth, validation, the query, the JSON) at 100k and
 * 1M recordings, for each filter shape (none, user, session, status, a time
 * range, a cursor deep in the list) and the overview (GET /api/admin/overview,
 * 30 and 365 days), beside a baseline in the same run: the
 * bare index scan the first page needs (the same ORDER BY … LIMIT in SQL, over
 * the same connection pool). Prints p50/p99 of BENCH_LIST_REQUESTS requests
 * per shape, after a warm-up; asserts nothing.
 *
 * The rows are made by one INSERT … SELECT from generate_series per size
 * (1000 users, sessions of 10 recordings, 90% ready, a year of createdAt).
 *
 * Env: BENCH_LIST_ROWS (default "100000,1000000"), BENCH_LIST_REQUESTS (default 200),
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { sign } from 'hono/jwt';
import postgres from 'postgres';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate, openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/lib/logger.js';
import { encodeListCursor } from '../src/recordings/cursor.js';
import { SettingsService } from '../src/settings/service.js';
import { createStorage } from '../src/storage/index.js';

const SIZES = (process.env.BENCH_LIST_ROWS ?? '100000,1000000').split(',').map(Number);
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 200);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('hex');
const YEAR_MS = 365 * 86_400_000;

function quantiles(xs: number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}

async function main() {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const dbName = `sortie_bench_list_${process.pid}`;
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const storagePath = path.join(tmpdir(), `sortie-bench-list-${process.pid}`);
  const config = loadConfig({
    SORTIE_VIDEO_RECORDING_ENABLED: 'true',
    SORTIE_AUTH_JWT_SECRET: SECRET,
    DATABASE_URL: url.toString(),
    SORTIE_RECORDING_STORAGE_PATH: storagePath,
  });
  const database = await openDatabase(config);
  await migrate(database);
  const clock = { now: () => new Date() };
  const signingKey = await new SettingsService(database.db, clock).signingKey();
  const storage = await createStorage(config, { signingKey });
  const { app } = createApp({
    config,
    database,
    storage,
    clock,
    logger: createLogger({ service: 'bench' }, () => {}),
    signingKey,
  });
  const token = await sign({ sub: 'admin', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET, 'HS256');
  const headers = { authorization: `Bearer ${token}` };
  const end = Date.now();
  const lines: string[] = [];
  try {
    let have = 0;
    for (const size of SIZES) {
      // Rows have-1 … size-1 of the same series, so the 1M table holds the 100k one.
      const s0 = performance.now();
      await database.db.execute(sql`
        insert into recordings (id, session_id, user_id, user_name, status, mime_type, size_bytes, duration_ms,
          storage_key, created_at, updated_at, last_activity_at, completed_at)
        select id, 'session-' || (g / 10), 'user-' || (g % 1000), 'User ' || (g % 1000),
          case when g % 10 = 0 then 'failed' when g % 50 = 1 then 'recording' else 'ready' end,
          'video/webm', (g % 5000) * 1000, (g % 600) * 1000, id::text || '.webm', at, at, at, at
        from (
          select g, gen_random_uuid() as id,
            to_timestamp(${end / 1000}::float8 - (${size}::int - g)::float8 * ${YEAR_MS / 1000 / size}::float8) as at
          from generate_series(${have}::int, ${size - 1}::int) as g
        ) s`);
      await database.db.execute(sql`analyze recordings`);
      have = size;
      const seedS = (performance.now() - s0) / 1000;

      // A cursor half way down the list (by createdAt desc): what page N of a long walk sends.
      const [mid] = (await database.db.execute(
        sql`select id, created_at from recordings order by created_at desc, id desc offset ${Math.floor(size / 2)} limit 1`,
      )) as unknown as { id: string; created_at: Date | string }[];
      const deep = encodeListCursor({
        sort: 'created',
        order: 'desc',
        key: new Date(mid!.created_at),
        id: mid!.id,
      });
      const weekAgo = new Date(end - 7 * 86_400_000).toISOString();
      const monthsAgo = new Date(end - 100 * 86_400_000).toISOString();
      const shapes: [string, string][] = [
        ['none', ''],
        ['user', 'userId=user-42'],
        ['session', 'sessionId=session-4242'],
        ['status', 'status=failed'],
        ['time range (1 week, 100 days ago)', `from=${monthsAgo}&to=${weekAgo}`],
        ['deep cursor (half way)', `cursor=${deep}`],
      ];
      const client = (database.db as unknown as { $client: postgres.Sql }).$client;
      const baseline = async () => {
        const t = performance.now();
        await client`select * from recordings order by created_at desc, id desc limit 51`;
        return performance.now() - t;
      };
      const timeShape = async (query: string) => {
        const t = performance.now();
        const r = await app.request(`/api/admin/recordings?limit=50${query ? `&${query}` : ''}`, { headers });
        const body = (await r.json()) as { items: unknown[] };
        if (r.status !== 200) throw new Error(`${query}: ${r.status} ${JSON.stringify(body)}`);
        return performance.now() - t;
      };
      lines.push(
        `${size} rows (seeded in ${seedS.toFixed(1)} s), ${REQUESTS} requests per shape, load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
      );
      const base: number[] = [];
      for (let i = 0; i < 20; i++) await baseline();
      for (let i = 0; i < REQUESTS; i++) base.push(await baseline());
      const b = quantiles(base);
      lines.push(
        `  ${'baseline: the bare index scan in SQL'.padEnd(36)} p50 ${b.p50.toFixed(2)} ms  p99 ${b.p99.toFixed(2)} ms`,
      );
      for (const [name, query] of shapes) {
        const times: number[] = [];
        for (let i = 0; i < 20; i++) await timeShape(query);
        for (let i = 0; i < REQUESTS; i++) times.push(await timeShape(query));
        const q = quantiles(times);
        lines.push(
          `  ${name.padEnd(36)} p50 ${q.p50.toFixed(2)} ms  p99 ${q.p99.toFixed(2)} ms  (${(q.p99 / b.p99).toFixed(1)}× the baseline's p99)`,
        );
      }
      // The admin overview (GET /api/admin/overview) over the same rows, from the totals its triggers keep.
      for (const days of [30, 365]) {
        const times: number[] = [];
        const once = async () => {
          const t = performance.now();
          const r = await app.request(`/api/admin/overview?days=${days}`, { headers });
          const body = (await r.json()) as unknown;
          if (r.status !== 200) throw new Error(`overview: ${r.status} ${JSON.stringify(body)}`);
          return performance.now() - t;
        };
        for (let i = 0; i < 20; i++) await once();
        for (let i = 0; i < REQUESTS; i++) times.push(await once());
        const q = quantiles(times);
        lines.push(
          `  ${`overview (days=${days})`.padEnd(36)} p50 ${q.p50.toFixed(2)} ms  p99 ${q.p99.toFixed(2)} ms  (${(q.p99 / b.p99).toFixed(1)}× the baseline's p99)`,
        );
      }
      console.error(lines.join('\n'));
    }
  } finally {
    await database.close();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await rm(storagePath, { recursive: true, force: true });
  }
  console.log(lines.join('\n'));
}

await main();
