/**
 * The figures of the admin overview (GET /api/admin/overview): storage over
 * time, recordings per day by status, how recordings ended with the most
 * common failure reasons, and the largest users. Three queries on the
 * totals that triggers on recordings keep (migration 0009: per day by status
 * and ending, per day and failure reason, per user), so that the answer reads
 * a few thousand rows however many recordings there are. Days are UTC days.
 *
 * Deleted recordings leave no history, so "storage over time" is what the
 * recordings kept today held at the end of each day they were made: the
 * service stores no past states, and says so in docs/API.md.
 */
import type { AdminOverview, EndedBy, RecordingStatus } from '@sortie/contract';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { ENDED_BY, RECORDING_STATUSES } from '../db/schema.js';
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
  // Storage, recordings per day by status, and how they ended, from the per-day totals (migration 0009 keeps them with
  // triggers on recordings): days before the window fall into one bucket (day null) whose bytes are what was already
  // held on the window's first morning. The days are UTC days of created_at; fromDay is the window's first.
  // The three queries run at once (each on its own pooled connection): the answer takes the longest of them, not the sum.
  const fromDay = dayList[0]!;
  const dayQuery = rows<{
    day: string | null;
    status: RecordingStatus;
    ended_by: EndedBy | null;
    n: string;
    bytes: string;
  }>(
    db,
    sql`select case when day >= ${fromDay}::date then to_char(day, 'YYYY-MM-DD') end as day, status,
               nullif(ended_by, '') as ended_by, sum(recordings)::text as n, sum(bytes)::text as bytes
        from recording_day_totals group by 1, 2, 3`,
  );
  const reasonQuery = rows<{ reason: string | null; n: string }>(
    db,
    sql`select case when no_reason then null else reason end as reason, sum(recordings)::text as n
        from recording_failure_totals where day >= ${fromDay}::date
        group by no_reason, reason having sum(recordings) > 0
        order by sum(recordings) desc, no_reason, reason limit ${TOP_REASONS}`,
  );
  const userQuery = rows<{ user_id: string; user_name: string | null; n: string; bytes: string }>(
    db,
    sql`select t.user_id,
               (select max(n.user_name) filter (where not n.no_name) from recording_user_names n
                where n.user_id = t.user_id and n.recordings > 0) as user_name,
               t.recordings::text as n, t.bytes::text as bytes
        from recording_user_totals t where t.recordings > 0 order by t.bytes desc, t.user_id limit ${TOP_USERS}`,
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
