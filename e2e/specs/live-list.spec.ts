/**
 * The admin list that keeps up, times a reviewer can trust, and search by people: a recording that starts while
 * the list is open is announced ("1 new recording — Show") without a reload and without moving the rows shown, and
 * its row turns from Recording to Ready (Play enabled) where it stands; "Recorded between" finds the recordings going
 * on at some moment of the range (one still recording, one the range lies inside); start and end read to the second
 * with the viewer's zone, UTC on hover; the user field takes a name's prefix and a click on a session filters by it.
 * Recordings are made through the API as a client would (create, a part, complete).
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { demoToken, expect, openAdmin, test } from '../fixtures/service.ts';

// Not UTC, so that the zone shown and the UTC on hover differ.
const TZ = 'America/New_York';
test.use({ timezoneId: TZ, locale: 'en-US', viewport: { width: 1440, height: 900 } });

interface Rec {
  id: string;
  createdAt: string;
  completedAt: string | null;
  status: string;
}

/** A recording opened through the API with one stored part; `complete` finishes it. */
async function start(request: APIRequestContext, token: string, sessionId: string) {
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post('/api/recordings', {
    headers: auth,
    data: { sessionId, mimeType: 'video/webm;codecs=vp8' },
  });
  expect(created.status()).toBe(201);
  const rec = (await created.json()) as Rec;
  const partRes = await request.post(`/api/recordings/${rec.id}/parts`, {
    headers: auth,
    data: { partNumber: 1, sizeBytes: 1500 },
  });
  expect(partRes.status()).toBe(200);
  const part = (await partRes.json()) as { url: string; headers: Record<string, string> };
  const put = await request.put(part.url, { headers: part.headers, data: Buffer.alloc(1500, 7) });
  expect(put.status()).toBe(200);
  const complete = async (): Promise<Rec> => {
    const done = await request.post(`/api/recordings/${rec.id}/complete`, {
      headers: auth,
      data: { durationMs: 1000, parts: [{ partNumber: 1, etag: put.headers()['etag'] }] },
    });
    expect(done.status()).toBe(200);
    return (await done.json()) as Rec;
  };
  return { rec, complete };
}

const rows = (page: Page) => page.locator('#tab-recordings tbody tr[data-recording-id]');
const rowOf = (page: Page, id: string) => page.locator(`#tab-recordings tr[data-recording-id="${id}"]`);

async function shownIds(page: Page): Promise<string[]> {
  return rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-recording-id')!));
}

/** A datetime-local value (local time in TZ, to the second) for an instant. */
function localInput(ms: number): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: TZ,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
    .format(new Date(ms))
    .replace(' ', 'T');
}

/** What the cell of an instant must read: its seconds and New York's zone; UTC to the millisecond on hover. */
async function expectTime(cell: ReturnType<Page['locator']>, iso: string): Promise<void> {
  const seconds = String(new Date(iso).getUTCSeconds()).padStart(2, '0');
  const time = cell.locator('time');
  await expect(time).toHaveText(new RegExp(`\\d{1,2}:\\d{2}:${seconds}\\s?[AP]M\\s+E[SD]T$`));
  await expect(time).toHaveAttribute('title', `${iso.replace('T', ' ').replace('Z', '')} UTC`);
  await expect(time).toHaveAttribute('datetime', iso);
}

test('a new recording appears without a reload, and its row turns ready in place', async ({
  page,
  request,
  baseURL,
}) => {
  const user = await demoToken(baseURL!, 'user');
  const old = await start(request, user, 'sess-live-old');
  const oldDone = await old.complete();

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(1);
  await expectTime(rowOf(page, oldDone.id).locator('[data-col="started"]'), oldDone.createdAt);
  await expectTime(rowOf(page, oldDone.id).locator('[data-col="ended"]'), oldDone.completedAt!);
  // Set on this document: still there at the end shows that no reload happened.
  await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

  // A recording starts while the list is open: a quiet notice, the rows stay where they are.
  const live = await start(request, user, 'sess-live-new');
  const notice = page.getByTestId('new-recordings');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('1 new recording');
  expect(await shownIds(page)).toEqual([oldDone.id]);

  await notice.getByRole('button', { name: 'Show' }).click();
  await expect(rows(page)).toHaveCount(2);
  expect(await shownIds(page)).toEqual([live.rec.id, oldDone.id]);
  await expect(notice).toBeHidden();
  const row = rowOf(page, live.rec.id);
  await expect(row).toHaveAttribute('data-status', 'recording');
  await expect(row.getByRole('button', { name: 'Play' })).toBeDisabled();
  await expect(row.locator('[data-col="ended"]')).toHaveText('Still open');
  await expectTime(row.locator('[data-col="started"]'), live.rec.createdAt);

  // It completes: the row turns ready where it stands, Play enabled, its end shown; no reload, no notice.
  const done = await live.complete();
  await expect(row).toHaveAttribute('data-status', 'ready', { timeout: 20_000 });
  await expect(row.locator('[data-col="status"]')).toHaveText('Ready');
  await expect(row.getByRole('button', { name: 'Play' })).toBeEnabled();
  await expectTime(row.locator('[data-col="ended"]'), done.completedAt!);
  expect(await shownIds(page)).toEqual([live.rec.id, oldDone.id]);
  await expect(notice).toBeHidden();
  expect(await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);

  // Refresh loads the list again at once.
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(rows(page)).toHaveCount(2);
});

test('"Recorded between" finds what was going on in the range: one still recording, one the range lies inside', async ({
  page,
  request,
  baseURL,
}) => {
  const user = await demoToken(baseURL!, 'user');
  const other = await demoToken(baseURL!, 'other');
  const before = await (await start(request, user, 'sess-before')).complete();
  await page.waitForTimeout(1100);
  const long = await start(request, user, 'sess-long');
  const open = await start(request, other, 'sess-open');
  // The range: one whole second, after `before` ended and both others started.
  const from = Math.ceil((Date.parse(open.rec.createdAt) + 1) / 1000) * 1000;
  const to = from + 1000;
  expect(Date.parse(before.completedAt!)).toBeLessThan(from);
  // `long` ends after the range: the range lies inside it.
  await page.waitForTimeout(Math.max(0, to - Date.now()) + 300);
  const longDone = await long.complete();
  expect(Date.parse(longDone.completedAt!)).toBeGreaterThan(to);
  const after = await (await start(request, user, 'sess-after')).complete();
  expect(Date.parse(after.createdAt)).toBeGreaterThanOrEqual(to);

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(4);
  await page.getByLabel('Recorded from').fill(localInput(from));
  await page.getByLabel('Recorded before').fill(localInput(to));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(rows(page)).toHaveCount(2);
  // Both started before the range: a search on the start alone would find neither.
  expect(await shownIds(page)).toEqual([open.rec.id, long.rec.id]);
  await expect(rowOf(page, open.rec.id)).toHaveAttribute('data-status', 'recording');
  await expect(rowOf(page, open.rec.id).locator('[data-col="ended"]')).toHaveText('Still open');
  await expectTime(rowOf(page, long.rec.id).locator('[data-col="ended"]'), longDone.completedAt!);
  const url = new URL(page.url());
  expect(url.searchParams.get('from')).toBe(new Date(from).toISOString());
  expect(url.searchParams.get('to')).toBe(new Date(to).toISOString());
});

test('the user field takes a prefix of a name, and a click on a session filters by it', async ({
  page,
  request,
  baseURL,
}) => {
  const user = await demoToken(baseURL!, 'user');
  const other = await demoToken(baseURL!, 'other');
  const mine = await (await start(request, user, 'desk-Alpha-1')).complete();
  const mine2 = await (await start(request, user, 'desk-beta-2')).complete();
  const theirs = await (await start(request, other, 'desk-alpha-3')).complete();

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(3);
  // "Second Demo User": a prefix of the name, any case.
  await page.getByLabel('User', { exact: true }).fill('second demo');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(rows(page)).toHaveCount(1);
  expect(await shownIds(page)).toEqual([theirs.id]);

  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(rows(page)).toHaveCount(3);
  await page.getByLabel('Session', { exact: true }).fill('DESK-ALPHA');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(rows(page)).toHaveCount(2);
  expect(await shownIds(page)).toEqual([theirs.id, mine.id]);

  // A click on a session cell filters by that session.
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(rows(page)).toHaveCount(3);
  await rowOf(page, mine2.id).locator('[data-filter="session"]').click();
  await expect(rows(page)).toHaveCount(1);
  expect(await shownIds(page)).toEqual([mine2.id]);
  await expect(page.getByLabel('Session', { exact: true })).toHaveValue('desk-beta-2');
  expect(new URL(page.url()).searchParams.get('session')).toBe('desk-beta-2');
});
