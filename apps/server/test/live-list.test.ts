/**
 * The admin list that keeps up and the times a reviewer can trust: "Recorded between" as an overlap
 * (range=overlap: the recording was going on at some moment of [from, to)), the live poll's `updatedSince` with the
 * page's `asOf`, and the search by people (`user`: a prefix of the user's id or name; `session`: of the session
 * id; both case-insensitive). Rows are written straight into the database so that their times are exact.
 */
import { randomUUID } from 'node:crypto';
import type { Recording } from '@sortie/contract';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordings } from '../src/db/schema.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

const T0 = new Date('2026-03-10T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;

const clock = fakeClock(at(24 * 60 * MIN));
let t: TestApp;
beforeAll(async () => {
  t = await testApp({ clock });
});
afterAll(async () => {
  await t?.close();
});

interface Seed {
  start: Date;
  /** completedAt; for a failed one updatedAt, for an open one absent. */
  end?: Date;
  status?: Recording['status'];
  userId?: string;
  userName?: string | null;
  sessionId?: string;
}

async function seed(session: string, rows: Seed[]): Promise<string[]> {
  const values = rows.map((r) => {
    const id = randomUUID();
    const status = r.status ?? 'ready';
    return {
      id,
      sessionId: r.sessionId ?? session,
      userId: r.userId ?? 'u-1',
      userName: r.userName === undefined ? 'Ada Lovelace' : r.userName,
      status,
      mimeType: 'video/webm',
      sizeBytes: 1000,
      durationMs: 1000,
      storageKey: `recordings/${id}.webm`,
      createdAt: r.start,
      updatedAt: status === 'failed' && r.end ? r.end : r.start,
      completedAt: status === 'ready' ? (r.end ?? r.start) : null,
      lastActivityAt: r.start,
    };
  });
  await t.database.db.insert(recordings).values(values);
  return values.map((v) => v.id);
}

type ListAnswer = { items: Recording[]; nextCursor: string | null; asOf: string };

async function list(query: Record<string, string>, who: 'admin' | 'user' = 'admin'): Promise<ListAnswer> {
  const path = who === 'admin' ? '/api/admin/recordings' : '/api/recordings';
  const res = await t.app.request(`${path}?${new URLSearchParams(query)}`, { headers: t.auth[who] });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as ListAnswer;
}

const ids = (page: ListAnswer) => page.items.map((r) => r.id).sort();

describe('Recorded between as an overlap (range=overlap)', () => {
  it('finds every recording going on at some moment of [from, to), and no other', async () => {
    const s = `overlap-${randomUUID()}`;
    const [endedBefore, endsInside, spansRange, inside, startsInside, startsAtTo, stillRecording, uploading, failed] =
      await seed(s, [
        { start: at(0), end: at(9 * MIN) }, // ended before the range
        { start: at(0), end: at(15 * MIN) }, // ended inside it
        { start: at(0), end: at(60 * MIN) }, // the range lies inside the recording
        { start: at(12 * MIN), end: at(13 * MIN) }, // the recording lies inside the range
        { start: at(19 * MIN), end: at(40 * MIN) }, // started inside it
        { start: at(20 * MIN), end: at(30 * MIN) }, // started when the range ends: not in [from, to)
        { start: at(-60 * MIN), status: 'recording' }, // started long before, still recording
        { start: at(5 * MIN), status: 'uploading' }, // stopped, still uploading: open too
        { start: at(1 * MIN), end: at(11 * MIN), status: 'failed' }, // failed inside the range: its end is updatedAt
      ]);
    const range = { sessionId: s, range: 'overlap', from: at(10 * MIN).toISOString(), to: at(20 * MIN).toISOString() };
    const page = await list(range);
    expect(ids(page)).toEqual([endsInside, spansRange, inside, startsInside, stillRecording, uploading, failed].sort());
    expect(page.items.map((r) => r.id)).not.toContain(endedBefore);
    expect(page.items.map((r) => r.id)).not.toContain(startsAtTo);
    // Newest first by start, as every list.
    const starts = page.items.map((r) => r.createdAt);
    expect(starts).toEqual([...starts].sort().reverse());
    // The default (range=created) still bounds the start alone: only the two that started inside.
    const created = await list({ sessionId: s, from: range.from, to: range.to });
    expect(ids(created)).toEqual([inside, startsInside].sort());
  });

  it('a range inside one recording finds it; a range after a recording that is still going finds that one', async () => {
    const s = `inside-${randomUUID()}`;
    const [long, open] = await seed(s, [
      { start: at(0), end: at(120 * MIN) },
      { start: at(0), status: 'recording' },
    ]);
    const within = await list({
      sessionId: s,
      range: 'overlap',
      from: at(30 * MIN).toISOString(),
      to: at(30 * MIN + 1000).toISOString(),
    });
    expect(ids(within)).toEqual([long, open].sort());
    const later = await list({ sessionId: s, range: 'overlap', from: at(500 * MIN).toISOString() });
    expect(ids(later)).toEqual([open]);
  });

  it('takes one side alone, ends that are instants, and works on the caller’s own list too', async () => {
    const s = `sides-${randomUUID()}`;
    const [a, b, c] = await seed(s, [
      { start: at(0), end: at(0) }, // ended the moment it started: one instant, not an empty span
      { start: at(5 * MIN), end: at(6 * MIN) },
      { start: at(10 * MIN), status: 'recording' },
    ]);
    expect(
      ids(await list({ sessionId: s, range: 'overlap', from: at(0).toISOString(), to: at(1).toISOString() })),
    ).toEqual([a]);
    expect(ids(await list({ sessionId: s, range: 'overlap', to: at(5 * MIN).toISOString() }))).toEqual([a]);
    expect(ids(await list({ sessionId: s, range: 'overlap', from: at(6 * MIN).toISOString() }))).toEqual([b, c].sort());
    expect(ids(await list({ sessionId: s, range: 'overlap', from: at(6 * MIN).toISOString() }, 'user'))).toEqual(
      [b, c].sort(),
    );
  });

  it('refuses an unknown range with a 400 naming it', async () => {
    const res = await t.app.request('/api/admin/recordings?range=during', { headers: t.auth.admin });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/range/);
  });
});

describe('changed since (updatedSince) and asOf', () => {
  it('answers the rows changed at or after updatedSince, new and changed alike, under the other filters', async () => {
    const s = `changes-${randomUUID()}`;
    clock.set(at(100 * MIN));
    const first = await list({ sessionId: s });
    expect(first.asOf).toBe(at(100 * MIN).toISOString());
    const [old, recording] = await seed(s, [
      { start: at(0), end: at(1 * MIN) },
      { start: at(99 * MIN), status: 'recording' },
    ]);
    // Nothing changed since the first page was read but the open one (stamped before asOf: seeded at 99 min).
    expect(ids(await list({ sessionId: s, updatedSince: first.asOf }))).toEqual([]);
    // It becomes ready, and a new one starts.
    await t.database.db
      .update(recordings)
      .set({ status: 'ready', completedAt: at(101 * MIN), updatedAt: at(101 * MIN) })
      .where(eq(recordings.id, recording!));
    const [fresh] = await seed(s, [{ start: at(102 * MIN), status: 'recording' }]);
    clock.set(at(103 * MIN));
    const poll = await list({ sessionId: s, updatedSince: first.asOf });
    expect(ids(poll)).toEqual([recording, fresh].sort());
    expect(poll.items.find((r) => r.id === recording)?.status).toBe('ready');
    expect(poll.items.map((r) => r.id)).not.toContain(old);
    expect(poll.asOf).toBe(at(103 * MIN).toISOString());
    // The list's filters still apply: only the open ones of those.
    expect(ids(await list({ sessionId: s, updatedSince: first.asOf, status: 'recording' }))).toEqual([fresh]);
    // At the bound: inclusive.
    expect(ids(await list({ sessionId: s, updatedSince: at(102 * MIN).toISOString() }))).toEqual([fresh]);
  });

  it('refuses an updatedSince that is not an instant with a zone', async () => {
    const res = await t.app.request('/api/admin/recordings?updatedSince=yesterday', { headers: t.auth.admin });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/updatedSince.*ISO 8601/);
  });
});

describe('search by people (user, session)', () => {
  it('matches a case-insensitive prefix of the user id or the user name', async () => {
    const tag = randomUUID().slice(0, 8);
    const s = `people-${tag}`;
    const [grace, gracie, ada, noName] = await seed(s, [
      { start: at(0), userId: `GH-${tag}-1`, userName: 'Grace Hopper' },
      { start: at(1), userId: `gh-${tag}-2`, userName: 'Gracie Allen' },
      { start: at(2), userId: `al-${tag}`, userName: `Ada ${tag}` },
      { start: at(3), userId: `nn-${tag}`, userName: null },
    ]);
    expect(ids(await list({ sessionId: s, user: `gh-${tag}` }))).toEqual([grace, gracie].sort());
    expect(ids(await list({ sessionId: s, user: `GH-${tag}-1` }))).toEqual([grace]);
    expect(ids(await list({ sessionId: s, user: 'grac' }))).toEqual([grace, gracie].sort());
    expect(ids(await list({ sessionId: s, user: 'GRACE ' }))).toEqual([grace]);
    expect(ids(await list({ sessionId: s, user: `ada ${tag}` }))).toEqual([ada]);
    expect(ids(await list({ sessionId: s, user: `NN-` }))).toEqual([noName]);
    // A prefix, not a substring.
    expect(ids(await list({ sessionId: s, user: 'hopper' }))).toEqual([]);
    // LIKE's wildcards are literal text.
    expect(ids(await list({ sessionId: s, user: '%' }))).toEqual([]);
    expect(ids(await list({ sessionId: s, user: 'g_' }))).toEqual([]);
  });

  it('matches a case-insensitive prefix of the session id', async () => {
    const tag = randomUUID().slice(0, 8);
    const [one, two] = await seed('', [
      { start: at(0), sessionId: `Desk-${tag}-A` },
      { start: at(1), sessionId: `desk-${tag}-b` },
      { start: at(2), sessionId: `other-desk-${tag}` },
    ]);
    expect(ids(await list({ session: `DESK-${tag}` }))).toEqual([one, two].sort());
    expect(ids(await list({ session: `desk-${tag}-a` }))).toEqual([one]);
    expect(ids(await list({ session: `desk-${tag}_` }))).toEqual([]);
  });
});
