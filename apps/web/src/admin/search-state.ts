/**
 * The admin's search as the page's query string, so a search can be shared as a
 * link and a reload restores it: `?status=failed&from=…&sort=size&order=desc&limit=50`.
 * Times are ISO 8601 instants in the URL (the same moment for whoever opens the
 * link, whatever their time zone) and local times in the form's inputs.
 */
import type { RecordingStatus } from '../shared/api.js';
import type { AdminQuery, ListSort } from './admin-api.js';

export interface Search {
  /** A prefix of the user's id or name, any case. */
  user: string;
  /** A prefix of the session id, any case. */
  session: string;
  status: RecordingStatus | '';
  /** Legal hold: 'true' only held recordings, 'false' only those not held, '' either. */
  held: 'true' | 'false' | '';
  marker: string;
  /** ISO 8601 instants, or '': "Recorded between", the recordings going on at some moment of [from, to). */
  from: string;
  to: string;
  sort: ListSort;
  order: 'asc' | 'desc';
  limit: number;
}

export const PAGE_SIZES = [10, 25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 25;
const STATUSES: readonly string[] = ['recording', 'uploading', 'ready', 'failed'];
const SORTS: readonly string[] = ['created', 'duration', 'size'];

/** The search in a query string; anything unknown or malformed falls back to its default. */
export function readSearch(search: string = location.search): Search {
  const p = new URLSearchParams(search);
  const iso = (v: string | null) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : '');
  const limit = Number(p.get('limit'));
  return {
    // userId/sessionId: the names of links made before the search by prefix; a whole id is its own prefix.
    user: p.get('user') ?? p.get('userId') ?? '',
    session: p.get('session') ?? p.get('sessionId') ?? '',
    status: (STATUSES.includes(p.get('status') ?? '') ? p.get('status') : '') as RecordingStatus | '',
    held: p.get('held') === 'true' ? 'true' : p.get('held') === 'false' ? 'false' : '',
    marker: p.get('marker') ?? '',
    from: iso(p.get('from')),
    to: iso(p.get('to')),
    sort: (SORTS.includes(p.get('sort') ?? '') ? p.get('sort') : 'created') as ListSort,
    order: p.get('order') === 'asc' ? 'asc' : 'desc',
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
  };
}

/** The query string of a search: defaults left out, other parameters of the page (days) kept. */
export function searchString(s: Search, keep: string = location.search): string {
  const p = new URLSearchParams(keep);
  const set = (k: string, v: string, dflt = '') => (v && v !== dflt ? p.set(k, v) : p.delete(k));
  p.delete('userId');
  p.delete('sessionId');
  set('user', s.user);
  set('session', s.session);
  set('status', s.status);
  set('held', s.held);
  set('marker', s.marker);
  set('from', s.from);
  set('to', s.to);
  set('sort', s.sort, 'created');
  set('order', s.order, 'desc');
  set('limit', String(s.limit), String(DEFAULT_PAGE_SIZE));
  const q = p.toString();
  return q ? `?${q}` : '';
}

/** The list query of a search (no cursor). */
export function toQuery(s: Search): AdminQuery {
  return {
    user: s.user || undefined,
    session: s.session || undefined,
    status: s.status || undefined,
    held: s.held || undefined,
    marker: s.marker || undefined,
    from: s.from || undefined,
    to: s.to || undefined,
    range: s.from || s.to ? 'overlap' : undefined,
    sort: s.sort,
    order: s.order,
    limit: s.limit,
  };
}

export function isFiltered(s: Search): boolean {
  return Boolean(s.user || s.session || s.status || s.held || s.marker || s.from || s.to);
}

/** An ISO instant as a datetime-local input's value: local time, to the second (the inputs have step=1). */
export function toLocalInput(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A datetime-local input's value (local time) as an ISO instant, or '' when empty or incomplete. */
export function fromLocalInput(value: string): string {
  if (!value) return '';
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}
