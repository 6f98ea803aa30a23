/**
 * The figures of the admin overview (GET /api/admin/overview): storage over
 * time, recordings per day by status, how recordings ended with the most
 * common failure reasons, and the largest users. One aggregate query per
 * figure, grouped in PostgreSQL; days are UTC days.
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

export async function adminOverview(db: Db, clock: Clock, days: number): Promise<AdminOverview> {
  const now = clock.now();
  const todayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = new Date(todayStart - (days - 1) * DAY_MS);
  const dayList = Array.from({ length: days }, (_, i) =>
    new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10),
  );
  const fromIso = from.toISOString();
  const day = sql`to_char(${recordings.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
  const inWindow = sql`${recordings.createdAt} >= ${fromIso}::timestamptz`;

  // Storage: one pass over every row; the rows made before the window fall into one bucket (day null) whose sum
  // is what was already held on the window's first morning.
  const storageRows = await rows<{ day: string | null; bytes: string }>(
    db,
    sql`select case when ${inWindow} then ${day} end as day, coalesce(sum(${recordings.sizeBytes}), 0)::text as bytes
        from ${recordings} group by 1`,
  );
  const statusRows = await rows<{ day: string; status: RecordingStatus; n: string }>(
    db,
    sql`select ${day} as day, ${recordings.status} as status, count(*)::text as n
        from ${recordings} where ${inWindow} group by 1, 2`,
  );
  const endedRows = await rows<{ ended_by: EndedBy; n: string }>(
    db,
    sql`select ${recordings.endedBy} as ended_by, count(*)::text as n
        from ${recordings} where ${inWindow} and ${recordings.endedBy} is not null group by 1`,
  );
  const reasonRows = await rows<{ reason: string | null; n: string }>(
    db,
    sql`select ${recordings.failureReason} as reason, count(*)::text as n
        from ${recordings} where ${recordings.status} = 'failed' and ${inWindow}
        group by 1 order by count(*) desc, 1 limit ${TOP_REASONS}`,
  );
  const userRows = await rows<{ user_id: string; user_name: string | null; n: string; bytes: string }>(
    db,
    sql`select ${recordings.userId} as user_id, max(${recordings.userName}) as user_name, count(*)::text as n,
               coalesce(sum(${recordings.sizeBytes}), 0)::text as bytes
        from ${recordings} group by 1 order by sum(${recordings.sizeBytes}) desc, 1 limit ${TOP_USERS}`,
  );

  const bytesByDay = new Map(storageRows.map((r) => [r.day, Number(r.bytes)]));
  let cumulative = bytesByDay.get(null) ?? 0;
  const storageByDay = dayList.map((d) => {
    const bytes = bytesByDay.get(d) ?? 0;
    cumulative += bytes;
    return { day: d, bytes, cumulativeBytes: cumulative };
  });

  const zero = () => Object.fromEntries(RECORDING_STATUSES.map((s) => [s, 0])) as Record<RecordingStatus, number>;
  const byDayMap = new Map(dayList.map((d) => [d, zero()]));
  for (const r of statusRows) {
    const counts = byDayMap.get(r.day);
    if (counts && r.status in counts) counts[r.status] = Number(r.n);
  }

  const byEndedBy = Object.fromEntries(ENDED_BY.map((e) => [e, 0])) as Record<EndedBy, number>;
  for (const r of endedRows) if (r.ended_by in byEndedBy) byEndedBy[r.ended_by] = Number(r.n);
  const ended = Object.values(byEndedBy).reduce((a, b) => a + b, 0);
  const failed = byEndedBy.failed;

  return {
    days,
    from: fromIso,
    to: now.toISOString(),
    storage: { totalBytes: storageRows.reduce((a, r) => a + Number(r.bytes), 0), byDay: storageByDay },
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
