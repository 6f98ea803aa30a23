/**
 * GET /api/admin/audit: the trail newest first, keyset paging, filters, and
 * 400 on bad queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock, testApp, type TestApp } from './helpers.js';

interface Entry {
  id: string;
  at: string;
  actorId: string | null;
  action: string;
  recordingId: string | null;
  details: { autoRecord?: { to: boolean } };
}

let t: TestApp;
const clock = fakeClock();
beforeAll(async () => {
  t = await testApp({ clock });
  // Five settings changes a second apart, alternating on and off.
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    expect((await t.json('PUT', '/api/admin/settings', { autoRecord: i % 2 === 0 }, t.auth.admin)).status).toBe(200);
  }
});
afterAll(async () => {
  await t?.close();
});

const page = async (query: string) => {
  const res = await t.json('GET', `/api/admin/audit${query}`, undefined, t.auth.admin);
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Entry[]; nextCursor: string | null };
};

describe('GET /api/admin/audit', () => {
  it('lists entries newest first with who, what and when', async () => {
    const { items, nextCursor } = await page('');
    expect(nextCursor).toBeNull();
    expect(items.map((i) => i.details.autoRecord?.to)).toEqual([true, false, true, false, true]);
    const times = items.map((i) => Date.parse(i.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(items[0]).toMatchObject({ actorId: 'admin-1', action: 'settings.update', recordingId: null });
  });

  it('pages with a cursor: every entry once, in the same order', async () => {
    const all = (await page('')).items.map((i) => i.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p = await page(`?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(p.items.length).toBeLessThanOrEqual(2);
      seen.push(...p.items.map((i) => i.id));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  it('filters by action and actor', async () => {
    expect((await page('?action=retention.delete')).items).toEqual([]);
    expect((await page('?action=settings.update&actorId=admin-1')).items).toHaveLength(5);
    expect((await page('?actorId=someone-else')).items).toEqual([]);
  });

  it('bad queries are 400 invalid_request', async () => {
    for (const q of ['?action=drop_tables', '?limit=0', '?limit=abc', '?cursor=nope', '?recordingId=not-a-uuid']) {
      const res = await t.json('GET', `/api/admin/audit${q}`, undefined, t.auth.admin);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
  });
});
