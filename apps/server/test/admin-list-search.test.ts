/**
 * Searching the recordings lists: the time filter `from`/`to`
 * on createdAt, the sorts by created, duration and size with keyset cursors
 * that carry the sort key, the page size, and the capped count ("1000+").
 * Rows are written straight into the database so that times, sizes and ties are
 * exact; the list is a database read whatever the storage backend.
 */
import { randomUUID } from 'node:crypto';
import type { Recording } from '@sortie/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordings } from '../src/db/schema.js';
import { LIST_COUNT_CAP } from '../src/recordings/service.js';
import { testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

interface Seed {
  createdAt: Date;
  sizeBytes?: number;
  durationMs?: number | null;
  userId?: string;
  status?: 'recording' | 'uploading' | 'ready' | 'failed';
}

/** Inserts recordings of one session (its own, so each test lists only its rows); returns their ids in order. */
async function seed(sessionId: string, rows: Seed[]): Promise<string[]> {
  const values = rows.map((r) => {
    const id = randomUUID();
    return {
      id,
      sessionId,
      userId: r.userId ?? 'u-1',
      userName: 'Ada Lovelace',
      status: r.status ?? 'ready',
      mimeType: 'video/webm',
      sizeBytes: r.sizeBytes ?? 1000,
      durationMs: r.durationMs === undefined ? 1000 : r.durationMs,
      storageKey: `recordings/${id}.webm`,
      createdAt: r.createdAt,
      updatedAt: r.createdAt,
      lastActivityAt: r.createdAt,
    };
  });
  // In chunks: PostgreSQL takes at most 65535 parameters in one statement.
  for (let i = 0; i < values.length; i += 500) await t.database.db.insert(recordings).values(values.slice(i, i + 500));
  return values.map((v) => v.id);
}

type ListAnswer = { items: Recording[]; nextCursor: string | null; count?: number; countIsLowerBound?: boolean };

async function list(query: Record<string, string>, who: 'admin' | 'user' = 'admin') {
  const path = who === 'admin' ? '/api/admin/recordings' : '/api/recordings';
  return t.app.request(`${path}?${new URLSearchParams(query)}`, { headers: t.auth[who] });
}

async function listOk(query: Record<string, string>, who: 'admin' | 'user' = 'admin'): Promise<ListAnswer> {
  const res = await list(query, who);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as ListAnswer;
}

/** Every page of a list, following nextCursor. */
async function allPages(query: Record<string, string>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await listOk({ ...query, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { ids, pages };
}

async function expect400(query: Record<string, string>, mentions: RegExp, who: 'admin' | 'user' = 'admin') {
  const res = await list(query, who);
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('invalid_request');
  expect(body.error.message).toMatch(mentions);
}

const T0 = new Date('2026-03-10T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('from/to', () => {
  it('refuses what is not an ISO 8601 date and time with a zone, naming the parameter', async () => {
    await expect400({ from: 'yesterday' }, /from.*ISO 8601/);
    await expect400({ to: '2026-03-10' }, /to.*ISO 8601/);
    await expect400({ from: '2026-03-10T12:00:00' }, /from.*ISO 8601/); // no zone: which noon?
    await expect400({ from: '2026-02-30T00:00:00Z' }, /from/);
    await expect400({ to: '0001-01-01T00:00:00Z' }, /to must be in the years 1970 to 9999/);
    await expect400({ from: '2026-03-10T12:00:00Z', to: '2026-03-10T11:59:59.999Z' }, /from .* must not be after to/);
    await expect400({ from: 'nonsense' }, /from/, 'user');
  });

  it('keeps createdAt ≥ from and < to, to the millisecond, with a zone offset read as that instant', async () => {
    const s = `range-${randomUUID()}`;
    const [before, atFrom, inside, lastMs, atTo] = await seed(s, [
      { createdAt: at(-1) },
      { createdAt: at(0) },
      { createdAt: at(30_000) },
      { createdAt: at(59_999) },
      { createdAt: at(60_000) },
    ]);
    const q = { sessionId: s, from: T0.toISOString(), to: at(60_000).toISOString() };
    const inRange = await listOk(q);
    expect(inRange.items.map((r) => r.id)).toEqual([lastMs, inside, atFrom]);
    // The same instants written with a +02:00 offset.
    const offset = await listOk({ sessionId: s, from: '2026-03-10T14:00:00+02:00', to: '2026-03-10T14:01:00+02:00' });
    expect(offset.items.map((r) => r.id)).toEqual([lastMs, inside, atFrom]);
    expect((await listOk({ sessionId: s, to: T0.toISOString() })).items.map((r) => r.id)).toEqual([before]);
    expect((await listOk({ sessionId: s, from: at(60_000).toISOString() })).items.map((r) => r.id)).toEqual([atTo]);
    // from = to is an empty range, not an error.
    expect((await listOk({ sessionId: s, from: T0.toISOString(), to: T0.toISOString() })).items).toEqual([]);
  });

  it("filters the user's own list too, and only their recordings", async () => {
    const s = `own-${randomUUID()}`;
    const [mine] = await seed(s, [{ createdAt: at(1000) }]);
    await seed(s, [{ createdAt: at(1000), userId: 'u-2' }, { createdAt: at(-5000) }]);
    const page = await listOk({ sessionId: s, from: T0.toISOString(), to: at(2000).toISOString() }, 'user');
    expect(page.items.map((r) => r.id)).toEqual([mine]);
  });
});

describe('sort and cursor', () => {
  // Ties on every key: the id breaks them, so every page follows on from the last without repeat or gap.
  const rows: Seed[] = [
    { createdAt: at(0), sizeBytes: 500, durationMs: 3000 },
    { createdAt: at(0), sizeBytes: 300, durationMs: null, status: 'recording' },
    { createdAt: at(0), sizeBytes: 300, durationMs: 3000 },
    { createdAt: at(1000), sizeBytes: 300, durationMs: 1000 },
    { createdAt: at(1000), sizeBytes: 900, durationMs: null, status: 'failed' },
    { createdAt: at(2000), sizeBytes: 100, durationMs: 3000 },
    { createdAt: at(2000), sizeBytes: 300, durationMs: 7000 },
  ];
  let s: string;
  let seeded: { id: string; row: Seed }[];
  beforeAll(async () => {
    s = `sort-${randomUUID()}`;
    const ids = await seed(s, rows);
    seeded = ids.map((id, i) => ({ id, row: rows[i]! }));
  });

  const keyOf: Record<string, (r: Seed) => number> = {
    created: (r) => r.createdAt.getTime(),
    duration: (r) => r.durationMs ?? -1,
    size: (r) => r.sizeBytes ?? 0,
  };

  /** The order the list must give: the key, then the id (as PostgreSQL compares uuids: their hex text). */
  function expected(sort: string, order: 'asc' | 'desc'): string[] {
    const sign = order === 'asc' ? 1 : -1;
    return [...seeded]
      .sort((a, b) => {
        const k = keyOf[sort]!(a.row) - keyOf[sort]!(b.row);
        return sign * (k !== 0 ? k : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      })
      .map((x) => x.id);
  }

  for (const sort of ['created', 'duration', 'size'])
    for (const order of ['desc', 'asc'] as const)
      it(`sort=${sort}&order=${order}: pages of 2 give every row once, in order, ties broken by id`, async () => {
        const { ids, pages } = await allPages({ sessionId: s, sort, order, limit: '2' });
        expect(pages).toBe(4);
        expect(ids).toEqual(expected(sort, order));
      });

  it('the default is newest first by created', async () => {
    expect((await allPages({ sessionId: s, limit: '3' })).ids).toEqual(expected('created', 'desc'));
  });

  it('a recording with no duration yet sorts below every known duration (newest first by duration)', async () => {
    const page = await listOk({ sessionId: s, sort: 'duration', limit: '7' });
    expect(page.items.slice(-2).map((r) => r.durationMs)).toEqual([null, null]);
  });

  it('a cursor from one sort or order is refused with another (400), as is one the service never issued', async () => {
    const first = await listOk({ sessionId: s, sort: 'size', limit: '2' });
    expect(first.nextCursor).not.toBeNull();
    await expect400({ sessionId: s, sort: 'duration', cursor: first.nextCursor! }, /sort=size&order=desc/);
    await expect400({ sessionId: s, sort: 'size', order: 'asc', cursor: first.nextCursor! }, /issued for sort=size/);
    await expect400({ sessionId: s, cursor: first.nextCursor! }, /not sort=created/);
    await expect400({ sessionId: s, cursor: Buffer.from('s1|size|desc|abc|x').toString('base64url') }, /cursor/);
    await expect400({ sort: 'name' }, /sort/);
    await expect400({ order: 'up' }, /order/);
  });

  it('a cursor combines with from/to: the pages stay inside the range', async () => {
    const { ids } = await allPages({
      sessionId: s,
      sort: 'size',
      from: at(1000).toISOString(),
      to: at(2000).toISOString(),
      limit: '1',
    });
    const inRange = seeded.filter((x) => x.row.createdAt.getTime() === at(1000).getTime()).map((x) => x.id);
    expect(inRange).toHaveLength(2);
    expect(ids).toEqual(expected('size', 'desc').filter((id) => inRange.includes(id)));
  });
});

describe('limit and count', () => {
  it('limit is bounded to 1–200', async () => {
    await expect400({ limit: '0' }, /limit/);
    await expect400({ limit: '201' }, /limit/);
    await expect400({ limit: 'ten' }, /limit/);
    expect((await listOk({ limit: '200' })).items.length).toBeLessThanOrEqual(200);
  });

  it('count=true counts the matches exactly up to the cap', async () => {
    const s = `count-${randomUUID()}`;
    await seed(s, [{ createdAt: at(0) }, { createdAt: at(1), status: 'failed' }, { createdAt: at(2) }]);
    const page = await listOk({ sessionId: s, count: 'true', limit: '1' });
    expect(page.items).toHaveLength(1);
    expect(page).toMatchObject({ count: 3, countIsLowerBound: false });
    expect(await listOk({ sessionId: s, status: 'failed', count: 'true' })).toMatchObject({ count: 1 });
    expect(await listOk({ sessionId: s, from: at(1).toISOString(), count: 'true' })).toMatchObject({ count: 2 });
    // Without count=true the answer has no count at all (it costs a query).
    expect(await listOk({ sessionId: s })).not.toHaveProperty('count');
  });

  it('past the cap the count is the cap and says it is a lower bound ("1000+")', async () => {
    const s = `cap-${randomUUID()}`;
    await seed(
      s,
      Array.from({ length: LIST_COUNT_CAP + 1 }, (_, i) => ({ createdAt: at(i) })),
    );
    expect(await listOk({ sessionId: s, count: 'true' })).toMatchObject({
      count: LIST_COUNT_CAP,
      countIsLowerBound: true,
    });
    // One fewer: exact again.
    expect(await listOk({ sessionId: s, from: at(1).toISOString(), count: 'true' })).toMatchObject({
      count: LIST_COUNT_CAP,
      countIsLowerBound: false,
    });
  });
});
