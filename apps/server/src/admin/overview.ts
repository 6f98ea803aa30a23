/**
 * The figures of the admin overview (GET /api/admin/overview): storage over
 * time, recordings per day by status, how recordings ended with the most
 * common failure reasons, and the largest users. Three aggregate queries,
 * grouped in PostgreSQL: one pass for the per-day figures, one for the
 * failure reasons, one for the users. Days are UTC days.
 *
 * Deleted recordings leave no history, so "storage over time" is what the
 * recordings kept today held at the end of each day they were made: the
 * service stores no past states, and says so in docs/API.md.
 */
import type { AdminOverview, EndedBy, RecordingStatus } from '@sortie/contract';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { ENDED_BY, RECORDING_STATUSES, recordings } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';

/** How many failure reasons and users the overview names. */
export const TOP_REASONS = 5;
export const TOP_USERS = 10;

const DAY_MS = 86_400_000;

/** drizzle's execute answers `{ rows }` on PGlite and an array on postgres.js. */
async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(res) ? res : (res.rows ?? []);
}

const zero = () => Object.fromEntries(RECORDING_STATUSES.map((s) => [s, 0])) as Record<RecordingStatus, number>;

export async function adminOverview(db: Db, clock: Clock, days: number): Promise<AdminOverview> {
  const now = clock.now();
  const todayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = new Date(todayStart - (days - 1) * DAY_MS);
  const dayList = Array.from({ length: days }, (_, i) =>
    new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10),
  );
  const fromIso = from.toISOString();
  // Storage, recordings per day by status, and how they ended: one pass over the table, grouped by UTC day (date_bin
  // from a UTC midnight: no dependence on the session's time zone), status and ending. Rows made before the window
  // fall into one bucket (day null) whose bytes are what was already held on the window's first morning.
  // The three queries run at once (each on its own pooled connection): the answer takes the longest of them, not the sum.
  const dayQuery = rows<{
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
  const reasonQuery = rows<{ reason: string | null; n: string }>(
    db,
    sql`select ${recordings.failureReason} as reason, count(*)::text as n
        from ${recordings} where ${recordings.status} = 'failed' and ${recordings.createdAt} >= ${fromIso}::timestamptz
        group by 1 order by count(*) desc, 1 limit ${TOP_REASONS}`,
  );
  const userQuery = rows<{ user_id: string; user_name: string | null; n: string; bytes: string }>(
    db,
    sql`select ${recordings.userId} as user_id, max(${recordings.userName}) as user_name, count(*)::text as n,
               coalesce(sum(${recordings.sizeBytes}), 0)::text as bytes
        from ${recordings} group by 1 order by sum(${recordings.sizeBytes}) desc, 1 limit ${TOP_USERS}`,
  );
  const [dayRows, reasonRows, userRows] = await Promise.all([dayQuery, reasonQuery, userQuery]);

  const bytesByDay = new Map<string | null, number>();
  const byDayMap = new Map(dayList.map((d) => [d, zero()]));
  const byEndedBy = Object.fromEntries(ENDED_BY.map((e) => [e, 0])) as Record<EndedBy, number>;
  let totalBytes = 0;
  for (const r of dayRows) {
    const n = Number(r.n);
    const bytes = Number(r.bytes);
    totalBytes += bytes;
    bytesByDay.set(r.day, (bytesByDay.get(r.day) ?? 0) + bytes);
    if (r.day === null) continue;
    const counts = byDayMap.get(r.day);
    if (counts && r.status in counts) counts[r.status] += n;
    if (r.ended_by && r.ended_by in byEndedBy) byEndedBy[r.ended_by] += n;
  }
  let cumulative = bytesByDay.get(null) ?? 0;
  const storageByDay = dayList.map((d) => {
    const bytes = bytesByDay.get(d) ?? 0;
    cumulative += bytes;
    return { day: d, bytes, cumulativeBytes: cumulative };
  });
  const ended = Object.values(byEndedBy).reduce((a, b) => a + b, 0);
  const failed = byEndedBy.failed;

  return {
    days,
    from: fromIso,
    to: now.toISOString(),
    storage: { totalBytes, byDay: storageByDay },
    byDay: dayList.map((d) => ({ day: d, ...byDayMap.get(d)! })),
    endings: {
      ended,
      failed,
      failureRate: ended === 0 ? 0 : failed / ended,
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
