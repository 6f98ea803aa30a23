/**
 * Reading recordings: the filtered, sorted, cursor-paged list (every sort an index range, schema.ts) and the
 * lookups of one row, with or without the ownership rule.
 */
import { and, asc, desc, eq, gte, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import type { Clock } from '../lib/clock.js';
import { recordingMarkers, recordings, recordingSpan, type RecordingRow, type RecordingStatus } from '../db/schema.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import { decodeListCursor, encodeListCursor, type ListKey, type ListOrder, type ListSort } from './cursor.js';
import { toResource, type Recording } from './resource.js';

/** What a caller means to do with a recording (getRow): read it, delete it, or write to it as its owner. */
export type RowAccess = 'read' | 'delete' | 'own';

export interface ListFilter {
  userId?: string;
  sessionId?: string;
  status?: RecordingStatus;
  /** createdAt ≥ from; with range=overlap, the recording ends at or after from (or is still open). */
  from?: Date;
  /** createdAt < to (with range=overlap too: it started before the range ends). */
  to?: Date;
  /** (extension) How from/to match: `created` (default) the start alone, `overlap` any moment of the recording. */
  range?: 'created' | 'overlap';
  /** (extension) Only recordings whose row changed at or after this instant: the admin list's live poll. */
  updatedSince?: Date;
  /** (extension) A case-insensitive prefix of the user's id or name. */
  user?: string;
  /** (extension) A case-insensitive prefix of the session id. */
  session?: string;
  /** Default created, newest first. */
  sort?: ListSort;
  order?: ListOrder;
  limit: number;
  cursor?: string;
  /** 'true': count the matches too (up to LIST_COUNT_CAP). */
  count?: 'true' | 'false';
  /** (extension) Only recordings with a marker whose label contains this text, case-insensitively. */
  marker?: string;
  /** (extension) 'true': only recordings on legal hold; 'false': only those not held. */
  held?: 'true' | 'false';
}

export interface Page {
  items: Recording[];
  nextCursor: string | null;
  /** With count=true: how many recordings match, at most LIST_COUNT_CAP. */
  count?: number;
  /** With count=true: more than `count` match (shown as "1000+"). */
  countIsLowerBound?: boolean;
  /** The service's clock when it read the page: the next poll's updatedSince (less a margin) starts here. */
  asOf: string;
}

/**
 * Counting stops here: an exact count of a large filter reads every matching row, while counting up to a cap reads
 * at most this many index entries, whatever the table's size. Past it the answer is a lower bound ("1000+").
 */
export const LIST_COUNT_CAP = 1000;

/**
 * The sort key of each sort, as SQL. A duration is null until known: -1 puts those after every known duration
 * newest-first (and first oldest-first) and keeps the key a plain number the cursor can carry. Each key has an
 * index on (key DESC, id DESC) in schema.ts, read forwards for desc and backwards for asc.
 */
const SORT_KEY: Record<ListSort, SQL> = {
  created: sql`${recordings.createdAt}`,
  duration: sql`coalesce(${recordings.durationMs}, -1)`,
  size: sql`${recordings.sizeBytes}`,
};

function sortKeyOf(r: RecordingRow, sort: ListSort): ListKey {
  if (sort === 'created') return r.createdAt;
  return sort === 'size' ? r.sizeBytes : (r.durationMs ?? -1);
}

/** LIKE's own wildcards in user text are literal. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/** The filter as SQL conditions, each one an index range or a filter on one (list-index.test.ts checks the plans). */
function conditions(filter: ListFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.userId !== undefined) where.push(eq(recordings.userId, filter.userId));
  if (filter.sessionId !== undefined) where.push(eq(recordings.sessionId, filter.sessionId));
  if (filter.status !== undefined) where.push(eq(recordings.status, filter.status));
  where.push(...timeConditions(filter));
  if (filter.updatedSince !== undefined) where.push(gte(recordings.updatedAt, filter.updatedSince));
  if (filter.held !== undefined)
    where.push(filter.held === 'true' ? isNotNull(recordings.heldAt) : isNull(recordings.heldAt));
  if (filter.user !== undefined) {
    // The same lower(...) as the prefix indexes, so each side of the OR reads its own index range.
    const prefix = `${likeEscape(filter.user.toLowerCase())}%`;
    where.push(sql`(lower(${recordings.userId}) like ${prefix} or lower(${recordings.userName}) like ${prefix})`);
  }
  if (filter.session !== undefined) {
    where.push(sql`lower(${recordings.sessionId}) like ${`${likeEscape(filter.session.toLowerCase())}%`}`);
  }
  if (filter.marker !== undefined) {
    // Markers are read through their (recording, offset) index.
    const pattern = `%${likeEscape(filter.marker)}%`;
    where.push(
      sql`exists (select 1 from ${recordingMarkers} where ${recordingMarkers.recordingId} = ${recordings.id} and ${recordingMarkers.label} ilike ${pattern})`,
    );
  }
  return where;
}

/**
 * from/to on the start (created), or as an overlap: the recording's span (recordingSpan: start to end, open while
 * recording) meets [from, to). The overlap is asked both as the span GiST's `&&` and, with a `to`, as a range of
 * the created index (a recording that overlaps started before `to`): the planner reads whichever is narrower.
 */
function timeConditions(filter: ListFilter): SQL[] {
  const { from, to } = filter;
  if (filter.range !== 'overlap') {
    return [
      ...(from !== undefined ? [gte(recordings.createdAt, from)] : []),
      ...(to !== undefined ? [lt(recordings.createdAt, to)] : []),
    ];
  }
  if (from === undefined && to === undefined) return [];
  const bound = (d: Date | undefined) => (d ? sql`${d.toISOString()}::timestamptz` : sql`null::timestamptz`);
  return [
    sql`${recordingSpan(recordings)} && tstzrange(${bound(from)}, ${bound(to)}, '[)')`,
    ...(to !== undefined ? [lt(recordings.createdAt, to)] : []),
  ];
}

export class RecordingQueries {
  constructor(
    private readonly db: Db,
    // The clock that stamps updatedAt, so that asOf and updatedSince are on one time line.
    private readonly clock: Clock,
  ) {}

  async list(filter: ListFilter): Promise<Page> {
    const sort = filter.sort ?? 'created';
    const order = filter.order ?? 'desc';
    if (filter.from && filter.to && filter.from > filter.to) {
      throw badRequest(`from (${filter.from.toISOString()}) must not be after to (${filter.to.toISOString()}).`);
    }
    // Read before the rows: a change stamped while they are read is at or after asOf, so the next poll sees it.
    const asOf = this.clock.now().toISOString();
    const where = conditions(filter);
    const matches = where.length ? and(...where) : undefined;
    const key = SORT_KEY[sort];
    const page = [...where];
    if (filter.cursor !== undefined) {
      const c = decodeListCursor(filter.cursor, sort, order);
      const k = c.key instanceof Date ? sql`${c.key.toISOString()}::timestamptz` : sql`${c.key}::bigint`;
      // The next page holds what sorts strictly after (key, id) in this order: a row comparison, which
      // PostgreSQL reads as one index range on (key, id).
      page.push(
        order === 'desc'
          ? sql`(${key}, ${recordings.id}) < (${k}, ${c.id}::uuid)`
          : sql`(${key}, ${recordings.id}) > (${k}, ${c.id}::uuid)`,
      );
    }
    const dir = order === 'desc' ? desc : asc;
    const rows = await this.db
      .select()
      .from(recordings)
      .where(page.length ? and(...page) : undefined)
      .orderBy(dir(key), dir(recordings.id))
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    const result: Page = {
      asOf,
      items: items.map(toResource),
      nextCursor:
        rows.length > filter.limit && last
          ? encodeListCursor({ sort, order, key: sortKeyOf(last, sort), id: last.id })
          : null,
    };
    if (filter.count === 'true') {
      const capped = this.db
        .select({ one: sql`1` })
        .from(recordings)
        .where(matches)
        .limit(LIST_COUNT_CAP + 1)
        .as('capped');
      const [counted] = await this.db.select({ n: sql<string>`count(*)` }).from(capped);
      const n = Number(counted?.n ?? 0);
      result.count = Math.min(n, LIST_COUNT_CAP);
      result.countIsLowerBound = n > LIST_COUNT_CAP;
    }
    return result;
  }

  /**
   * The row if `user` may act on it in this way: its owner always; for 'read' an admin or an auditor; for
   * 'delete' an admin; for 'own' (writes only the owner makes: parts, ends, markers, thumbnails) nobody else.
   * Anyone else gets 404, as if absent, except an auditor: the auditor can see every recording, so pretending
   * one is absent would mislead, and a write they may not make is refused as such (403).
   */
  async getRow(user: Identity, id: string, access: RowAccess): Promise<RecordingRow> {
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id));
    if (!row) throw notFound();
    if (row.userId === user.id) return row;
    if (user.isAdmin && access !== 'own') return row;
    if (user.isAuditor) {
      if (access === 'read') return row;
      throw forbidden(
        access === 'delete'
          ? 'An auditor has read-only access to other users’ recordings: deleting one needs administrator rights.'
          : 'An auditor has read-only access to other users’ recordings: only the owner records into or changes one.',
      );
    }
    throw notFound();
  }

  /** The row with no ownership check: for callers already authorized by a signed URL or a job. */
  async rowById(id: string): Promise<RecordingRow | null> {
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id));
    return row ?? null;
  }

  async get(user: Identity, id: string): Promise<Recording> {
    return toResource(await this.getRow(user, id, 'read'));
  }
}
