/** Opaque keyset cursors: the (createdAt, id) of the last item of a page. */
import { badRequest } from '../errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  // Only the form encodeCursor writes: a four-digit year. JavaScript dates reach ±275760, which PostgreSQL's
  // timestamp cannot take (an error, then a 500); no row this service wrote has a date outside these years.
  const t = createdAt.getTime();
  if (!id || !UUID_RE.test(id) || Number.isNaN(t) || t < MIN_TIME || t > MAX_TIME || !ISO_RE.test(iso ?? '')) {
    throw badRequest('cursor is not one this service issued.');
  }
  return { createdAt, id };
}
