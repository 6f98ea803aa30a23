/**
 * The admin overview reads per-day and per-user totals that triggers on recordings keep
 * (migration 0009). Its answer must equal the same figures computed straight from the
 * recordings (directOverview below: grouping every row, as the overview once did) after
 * inserts, status, size, name and day changes, deletes — one row or many per statement,
 * from several connections at once — and after the migration backfills rows made before it.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AdminOverview, EndedBy, RecordingStatus } from '@sortie/contract';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOverview, TOP_REASONS, TOP_USERS } from '../src/admin/overview.js';
import { MIGRATIONS_DIR, openDatabase, type Database, type Db } from '../src/db/client.js';
import { ENDED_BY, RECORDING_STATUSES, recordings } from '../src/db/schema.js';
import type { Clock } from '../src/lib/clock.js';
import { PG_ADMIN_URL, testDatabase } from './helpers.js';

const DAY_MS = 86_400_000;
const now = new Date('2026-03-10T12:00:00.000Z');
const clock: Clock = { now: () => now };
const WINDOWS = [1, 3, 30, 366];

/** A small seeded generator: the same rows on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rowMaker(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return () => {
    const id = randomUUID();
    // From 80 days before now to now: some before every window, some in each.
    const at = new Date(now.getTime() - Math.floor(random() * 80 * DAY_MS));
    const status = pick(RECORDING_STATUSES);
    const userId = `u-${Math.floor(random() * 15)}`;
    return {
      id,
      sessionId: 's',
      userId,
      userName: pick([`name of ${userId}`, `other name of ${userId}`, null]),
      status,
      mimeType: 'video/webm',
      sizeBytes: Math.floor(random() * 1e9),
      storageKey: `recordings/${id}.webm`,
      createdAt: at,
      updatedAt: at,
      lastActivityAt: at,
      endedBy: status === 'recording' ? null : pick([...ENDED_BY, null]),
      failureReason: status === 'failed' ? pick(['camera unplugged', 'network lost', '', null]) : null,
    };
  };
}

async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(res) ? res : (res.rows ?? []);
}

/** The overview's figures grouped straight from every recording. */
async function directOverview(db: Db, days: number): Promise<AdminOverview> {
  const todayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = new Date(todayStart - (days - 1) * DAY_MS);
  const dayList = Array.from({ length: days }, (_, i) =>
    new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10),
  );
  const fromIso = from.toISOString();
  const dayRows = await rows<{
    day: string | null;
    status: RecordingStatus;
    ended_by: EndedBy | null;
    n: string;
    bytes: string;
  }>(
    db,
    sql`select to_char(d at time zone 'UTC', 'YYYY-MM-DD') as day, status, ended_by, n::text, bytes::text from (
          select case when ${recordings.createdAt} >= ${fromIso}::timestamptz
                      then date_bin('1 day', ${recordings.createdAt}, timestamptz '2000-01-01 00:00:00+00') end as d,
                 ${recordings.status} as status, ${recordings.endedBy} as ended_by,
                 count(*) as n, coalesce(sum(${recordings.sizeBytes}), 0) as bytes
          from ${recordings} group by 1, 2, 3) s`,
  );
  const reasonRows = await rows<{ reason: string | null; n: string }>(
    db,
    sql`select ${recordings.failureReason} as reason, count(*)::text as n
        from ${recordings} where ${recordings.status} = 'failed' and ${recordings.createdAt} >= ${fromIso}::timestamptz
        group by 1 order by count(*) desc, 1 limit ${TOP_REASONS}`,
  );
  const userRows = await rows<{ user_id: string; user_name: string | null; n: string; bytes: string }>(
    db,
    sql`select ${recordings.userId} as user_id, max(${recordings.userName}) as user_name, count(*)::text as n,
               coalesce(sum(${recordings.sizeBytes}), 0)::text as bytes
        from ${recordings} group by 1 order by sum(${recordings.sizeBytes}) desc, 1 limit ${TOP_USERS}`,
  );
  const zero = () => Object.fromEntries(RECORDING_STATUSES.map((s) => [s, 0])) as Record<RecordingStatus, number>;
  const bytesByDay = new Map<string | null, number>();
  const byDayMap = new Map(dayList.map((d) => [d, zero()]));
  const byEndedBy = Object.fromEntries(ENDED_BY.map((e) => [e, 0])) as Record<EndedBy, number>;
  let totalBytes = 0;
  for (const r of dayRows) {
    totalBytes += Number(r.bytes);
    bytesByDay.set(r.day, (bytesByDay.get(r.day) ?? 0) + Number(r.bytes));
    if (r.day === null) continue;
    byDayMap.get(r.day)![r.status] += Number(r.n);
    if (r.ended_by) byEndedBy[r.ended_by] += Number(r.n);
  }
  let cumulative = bytesByDay.get(null) ?? 0;
  const ended = Object.values(byEndedBy).reduce((a, b) => a + b, 0);
  return {
    days,
    from: fromIso,
    to: now.toISOString(),
    storage: {
      totalBytes,
      byDay: dayList.map((d) => {
        const bytes = bytesByDay.get(d) ?? 0;
        cumulative += bytes;
        return { day: d, bytes, cumulativeBytes: cumulative };
      }),
    },
    byDay: dayList.map((d) => ({ day: d, ...byDayMap.get(d)! })),
    endings: {
      ended,
      failed: byEndedBy.failed,
      failureRate: ended === 0 ? 0 : byEndedBy.failed / ended,
      byEndedBy,
      topReasons: reasonRows.map((r) => ({ reason: r.reason ?? '(no reason given)', count: Number(r.n) })),
    },
    largestUsers: userRows.map((r) => ({
      userId: r.user_id,
      userName: r.user_name,
      recordings: Number(r.n),
      bytes: Number(r.bytes),
    })),
  };
}

async function expectSameAsDirect(db: Db): Promise<void> {
  for (const days of WINDOWS) {
    expect(await adminOverview(db, clock, days), `days=${days}`).toEqual(await directOverview(db, days));
  }
}

describe('the overview from the totals equals the figures grouped from every recording', () => {
  let database: Database;
  const random = prng(20261207);
  const makeRow = rowMaker(random);
  const ids: string[] = [];
  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });
  const db = () => database.db;

  it('after inserts, many rows per statement and one at a time', async () => {
    const batch = Array.from({ length: 300 }, makeRow);
    await db().insert(recordings).values(batch);
    for (let i = 0; i < 20; i++) {
      const one = makeRow();
      batch.push(one);
      await db().insert(recordings).values(one);
    }
    ids.push(...batch.map((r) => r.id));
    const overview = await adminOverview(db(), clock, 366);
    expect(overview.largestUsers.length).toBe(TOP_USERS);
    expect(overview.endings.topReasons.length).toBeGreaterThan(2);
    await expectSameAsDirect(db());
  });

  it('after status changes (to failed with a reason, to ready with an ending)', async () => {
    for (const [i, id] of ids.slice(0, 60).entries()) {
      await db()
        .update(recordings)
        .set(
          i % 2 === 0
            ? { status: 'failed', endedBy: 'failed', failureReason: i % 3 === 0 ? null : `reason ${i % 4}` }
            : { status: 'ready', endedBy: 'stop', failureReason: null },
        )
        .where(eq(recordings.id, id));
    }
    await db()
      .update(recordings)
      .set({ status: 'uploading', endedBy: null })
      .where(inArray(recordings.id, ids.slice(60, 90)));
    await expectSameAsDirect(db());
  });

  it('after size, name and day changes, and an update that moves no figure', async () => {
    await db()
      .update(recordings)
      .set({ sizeBytes: sql`${recordings.sizeBytes} + 7` })
      .where(eq(recordings.userId, 'u-3'));
    await db()
      .update(recordings)
      .set({ sizeBytes: 0 })
      .where(inArray(recordings.id, ids.slice(90, 100)));
    await db()
      .update(recordings)
      .set({ userName: 'zz renamed' })
      .where(inArray(recordings.id, ids.slice(100, 110)));
    await db().update(recordings).set({ userName: null }).where(eq(recordings.userId, 'u-5'));
    await db()
      .update(recordings)
      .set({ createdAt: sql`${recordings.createdAt} - interval '2 days'` })
      .where(inArray(recordings.id, ids.slice(110, 130)));
    const totalsBefore = await rows<{ n: string }>(db(), sql`select count(*)::text as n from recording_day_totals`);
    await db().update(recordings).set({ lastActivityAt: now });
    const totalsAfter = await rows<{ n: string }>(db(), sql`select count(*)::text as n from recording_day_totals`);
    expect(totalsAfter).toEqual(totalsBefore);
    await expectSameAsDirect(db());
  });

  it('after deletes, one at a time, many at once, and every recording of a user', async () => {
    for (const id of ids.slice(130, 150)) await db().delete(recordings).where(eq(recordings.id, id));
    await db()
      .delete(recordings)
      .where(inArray(recordings.id, ids.slice(150, 200)));
    const biggest = (await adminOverview(db(), clock, 30)).largestUsers[0]!.userId;
    await db().delete(recordings).where(eq(recordings.userId, biggest));
    const overview = await adminOverview(db(), clock, 30);
    expect(overview.largestUsers.map((u) => u.userId)).not.toContain(biggest);
    await expectSameAsDirect(db());
  });

  it('after changes from several connections at once', async () => {
    const left = (await db().select({ id: recordings.id }).from(recordings)).map((r) => r.id);
    await Promise.all(
      left.slice(0, 40).map((id, i) =>
        i % 4 === 0
          ? db().delete(recordings).where(eq(recordings.id, id))
          : db()
              .update(recordings)
              .set({ sizeBytes: sql`${recordings.sizeBytes} + ${i * 1000}`, status: i % 2 ? 'ready' : 'failed' })
              .where(eq(recordings.id, id)),
      ),
    );
    await Promise.all(Array.from({ length: 10 }, () => db().insert(recordings).values([makeRow(), makeRow()])));
    await expectSameAsDirect(db());
  });

  it('after every recording is gone (deleted, then truncated)', async () => {
    await db()
      .insert(recordings)
      .values(Array.from({ length: 10 }, makeRow));
    await db().execute(sql`truncate recordings cascade`);
    const empty = await adminOverview(db(), clock, 3);
    expect(empty.storage.totalBytes).toBe(0);
    expect(empty.largestUsers).toEqual([]);
    await expectSameAsDirect(db());
  });
});

describe('migration 0009 counts the recordings made before it', () => {
  let name: string;
  let folder: string;
  let database: Database | undefined;
  const admin = async (query: string) => {
    const { default: postgres } = await import('postgres');
    const c = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await c.unsafe(query);
    } finally {
      await c.end();
    }
  };
  afterAll(async () => {
    await database?.close();
    if (name) await admin(`drop database if exists ${name} with (force)`);
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('the overview after the migration equals the direct figures', async () => {
    name = `sortie_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await admin(`create database ${name}`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    // The migrations up to 0008, then rows, then 0009.
    folder = await mkdtemp(path.join(tmpdir(), 'sortie-migrations-'));
    await cp(MIGRATIONS_DIR, folder, { recursive: true });
    const journalPath = path.join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag.startsWith('0009_'));
    expect(at).toBeGreaterThan(0);
    await writeFile(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
    await run(database.db as never, { migrationsFolder: folder });
    const before = await rows<{ n: string }>(
      database.db,
      sql`select count(*)::text as n from pg_tables where tablename = 'recording_day_totals'`,
    );
    expect(before[0]!.n).toBe('0');
    // The columns 0008 has, by name: the schema of today has columns later migrations add.
    const made = Array.from({ length: 200 }, rowMaker(prng(7)));
    await database.db.execute(
      sql`insert into recordings (id, session_id, user_id, user_name, status, mime_type, size_bytes, storage_key,
        created_at, updated_at, last_activity_at, ended_by, failure_reason) values ${sql.join(
          made.map(
            (r) =>
              sql`(${r.id}, ${r.sessionId}, ${r.userId}, ${r.userName}, ${r.status}, ${r.mimeType}, ${r.sizeBytes},
                ${r.storageKey}, ${r.createdAt.toISOString()}, ${r.updatedAt.toISOString()},
                ${r.lastActivityAt.toISOString()}, ${r.endedBy}, ${r.failureReason})`,
          ),
          sql`, `,
        )}`,
    );
    await run(database.db as never, { migrationsFolder: MIGRATIONS_DIR });
    await expectSameAsDirect(database.db);
    expect((await adminOverview(database.db, clock, 366)).storage.totalBytes).toBeGreaterThan(0);
  });
});
