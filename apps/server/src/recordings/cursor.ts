/**
 * Opaque keyset cursors: the sort key and id of the last item of a page.
 *
 * The audit trail's cursor is (at, id), newest first. A recordings list cursor
 * also names the sort and order it was issued for, so that a cursor from one
 * sort used with another is refused (its key would mean nothing there) rather
 * than silently paging from the wrong place.
 */
import { badRequest } from '../errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INT_RE = /^-?\d{1,16}$/;
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

/** A date in the form encodeCursor writes, or null. */
function parseIso(iso: string | undefined): Date | null {
  const d = new Date(iso ?? '');
  // Only a four-digit year: JavaScript dates reach ±275760, which PostgreSQL's timestamp cannot take (an error,
  // then a 500); no row this service wrote has a date outside these years.
  const t = d.getTime();
  if (Number.isNaN(t) || t < MIN_TIME || t > MAX_TIME || !ISO_RE.test(iso ?? '')) return null;
  return d;
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = parseIso(iso);
  if (!id || !UUID_RE.test(id) || !createdAt) throw badRequest('cursor is not one this service issued.');
  return { createdAt, id };
}

export const LIST_SORTS = ['created', 'duration', 'size'] as const;
export type ListSort = (typeof LIST_SORTS)[number];
export const LIST_ORDERS = ['desc', 'asc'] as const;
export type ListOrder = (typeof LIST_ORDERS)[number];

/** The key of one row under a sort: createdAt, or a whole number (duration with -1 for none, size). */
export type ListKey = Date | number;

export interface ListCursor {
  sort: ListSort;
  order: ListOrder;
  key: ListKey;
  id: string;
}

/** `s1|<sort>|<order>|<key>|<id>`: the version tag leaves room for another form later. */
export function encodeListCursor(c: ListCursor): string {
  const key = c.key instanceof Date ? c.key.toISOString() : String(c.key);
  return Buffer.from(`s1|${c.sort}|${c.order}|${key}|${c.id}`).toString('base64url');
}

/**
 * The cursor, if it was issued for `sort` and `order`. A cursor of the form before
 * sorts existed (createdAt|id) is a newest-first cursor by created.
 */
export function decodeListCursor(cursor: string, sort: ListSort, order: ListOrder): ListCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const fields = text.split('|');
  let c: ListCursor | null = null;
  if (fields.length === 2) {
    const { createdAt, id } = decodeCursor(cursor);
    c = { sort: 'created', order: 'desc', key: createdAt, id };
  } else if (fields.length === 5 && fields[0] === 's1') {
    const [, s, o, k, id] = fields as [string, string, string, string, string];
    const isSort = (LIST_SORTS as readonly string[]).includes(s);
    const isOrder = (LIST_ORDERS as readonly string[]).includes(o);
    const key = s === 'created' ? parseIso(k) : INT_RE.test(k) ? Number(k) : null;
    if (isSort && isOrder && key !== null && UUID_RE.test(id))
      c = { sort: s as ListSort, order: o as ListOrder, key, id };
  }
  if (!c) throw badRequest('cursor is not one this service issued.');
  if (c.sort !== sort || c.order !== order) {
    throw badRequest(
      `cursor was issued for sort=${c.sort}&order=${c.order}, not sort=${sort}&order=${order}; ask for the first page again.`,
    );
  }
  return c;
}
