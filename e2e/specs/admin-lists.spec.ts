/**
 * Searching the lists and seeing failures in the admin panel:
 * the time filter and the sorts return the right rows, bulk delete removes
 * exactly the ticked recordings (rows and stored bytes), a failed recording
 * shows how it ended and why, the search lives in the URL (a reload restores
 * it), "Copy link" copies the page link that opens the recording, and the overview charts
 * show the seeded figures. Recordings are seeded through the API as a client
 * would make them (create, a part, complete or fail), of known sizes and durations.
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { demoToken, expect, openAdmin, test, type DemoAs } from '../fixtures/service.ts';

// The browser's local time is not UTC, so the form's local times and the URL's instants must be converted right.
const TZ = 'America/New_York';
test.use({ timezoneId: TZ, viewport: { width: 1280, height: 800 } });

interface Seeded {
  id: string;
  createdAt: string;
  /** When it ended (completedAt; for a failed one its last change). */
  endedAt: string;
}

/** A recording made through the API: one part of `bytes` random bytes, then complete (or fail with a reason). */
async function seed(
  request: APIRequestContext,
  token: string,
  opts: { sessionId: string; bytes: number; durationMs?: number; failReason?: string },
): Promise<Seeded> {
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post('/api/recordings', {
    headers: auth,
    data: { sessionId: opts.sessionId, mimeType: 'video/webm;codecs=vp8' },
  });
  expect(created.status()).toBe(201);
  const rec = (await created.json()) as { id: string; createdAt: string };
  const partRes = await request.post(`/api/recordings/${rec.id}/parts`, {
    headers: auth,
    data: { partNumber: 1, sizeBytes: opts.bytes },
  });
  expect(partRes.status()).toBe(200);
  const part = (await partRes.json()) as { url: string; headers: Record<string, string> };
  const body = Buffer.alloc(opts.bytes, 7);
  const put = await request.put(part.url, { headers: part.headers, data: body });
  expect(put.status()).toBe(200);
  if (opts.failReason) {
    const failed = await request.post(`/api/recordings/${rec.id}/fail`, {
      headers: auth,
      data: { reason: opts.failReason },
    });
    expect(failed.status()).toBe(200);
    return { ...rec, endedAt: ((await failed.json()) as { updatedAt: string }).updatedAt };
  } else {
    const done = await request.post(`/api/recordings/${rec.id}/complete`, {
      headers: auth,
      data: { durationMs: opts.durationMs ?? 1000, parts: [{ partNumber: 1, etag: put.headers()['etag'] }] },
    });
    expect(done.status()).toBe(200);
    return { ...rec, endedAt: ((await done.json()) as { completedAt: string }).completedAt };
  }
}

async function tokens(baseURL: string): Promise<Record<DemoAs, string>> {
  return {
    user: await demoToken(baseURL, 'user'),
    other: await demoToken(baseURL, 'other'),
    admin: await demoToken(baseURL, 'admin'),
    auditor: await demoToken(baseURL, 'auditor'),
  };
}

const rows = (page: Page) => page.locator('#tab-recordings tbody tr[data-recording-id]');

async function shownIds(page: Page): Promise<string[]> {
  return rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-recording-id')!));
}

/** A datetime-local value (local time in TZ, to the second) for an instant. */
function localInput(ms: number): string {
  const parts = new Intl.DateTimeFormat('sv-SE', {
    timeZone: TZ,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
  return parts.replace(' ', 'T');
}

/** What a datetime-local input reads back for an instant: the browser leaves out seconds that are 00. */
const inputValue = (ms: number) => localInput(ms).replace(/:00$/, '');

test('the time filter keeps the recordings going on between two moments, and the URL keeps the search', async ({
  page,
  request,
  baseURL,
}) => {
  const t = await tokens(baseURL!);
  // Three recordings more than a second apart: whole-second bounds fall between them.
  const a = await seed(request, t.user, { sessionId: 'sess-time-a', bytes: 2000 });
  await page.waitForTimeout(1100);
  const b = await seed(request, t.other, { sessionId: 'sess-time-b', bytes: 2000 });
  await page.waitForTimeout(1100);
  const c = await seed(request, t.user, { sessionId: 'sess-time-c', bytes: 2000 });
  const ceilSecond = (iso: string) => Math.ceil((Date.parse(iso) + 1) / 1000) * 1000;
  // "Recorded between" finds what was going on in the range: it starts after a ended.
  const from = ceilSecond(a.endedAt); // after a, before b
  const to = ceilSecond(b.createdAt); // after b, before c
  expect(from).toBeLessThanOrEqual(Date.parse(b.createdAt));
  expect(to).toBeLessThanOrEqual(Date.parse(c.createdAt));

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(3);
  await expect(page.getByTestId('recordings-count')).toHaveText('3 recordings');

  await page.getByLabel('Recorded from').fill(localInput(from));
  await page.getByLabel('Recorded before').fill(localInput(to));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(rows(page)).toHaveCount(1);
  expect(await shownIds(page)).toEqual([b.id]);
  await expect(page.getByTestId('recordings-count')).toHaveText('1 recording');

  // The URL holds the instants (UTC), whatever the browser's zone; a reload restores the search and its rows.
  const url = new URL(page.url());
  expect(url.searchParams.get('from')).toBe(new Date(from).toISOString());
  expect(url.searchParams.get('to')).toBe(new Date(to).toISOString());
  await page.reload();
  await expect(rows(page)).toHaveCount(1);
  expect(await shownIds(page)).toEqual([b.id]);
  await expect(page.getByLabel('Recorded from')).toHaveValue(inputValue(from));
  await expect(page.getByLabel('Recorded before')).toHaveValue(inputValue(to));

  // From a moment on, with no end: b and c, newest first.
  await page.getByLabel('Recorded before').fill('');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(rows(page)).toHaveCount(2);
  expect(await shownIds(page)).toEqual([c.id, b.id]);

  // Back returns to the previous search.
  await page.goBack();
  await expect(rows(page)).toHaveCount(1);
  expect(await shownIds(page)).toEqual([b.id]);

  // A start after the end is refused in the form, before asking the service.
  await page.getByLabel('Recorded from').fill(localInput(to + 60_000));
  await page.getByLabel('Recorded before').fill(localInput(to));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('alert')).toContainText('must not be after its end');
});

test('sorting by duration and size orders the rows; page size and sort survive a reload and a shared link', async ({
  page,
  request,
  baseURL,
  browser,
}) => {
  const t = await tokens(baseURL!);
  const small = await seed(request, t.user, { sessionId: 'sess-small', bytes: 1000, durationMs: 9000 });
  const large = await seed(request, t.user, { sessionId: 'sess-large', bytes: 9000, durationMs: 1000 });
  const medium = await seed(request, t.other, { sessionId: 'sess-medium', bytes: 5000, durationMs: 5000 });

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(3);
  expect(await shownIds(page)).toEqual([medium.id, large.id, small.id]); // newest first

  const sort = page.getByLabel('Sort');
  await sort.selectOption({ label: 'Largest first' });
  await expect.poll(() => shownIds(page)).toEqual([large.id, medium.id, small.id]);
  await sort.selectOption({ label: 'Smallest first' });
  await expect.poll(() => shownIds(page)).toEqual([small.id, medium.id, large.id]);
  await sort.selectOption({ label: 'Longest first' });
  await expect.poll(() => shownIds(page)).toEqual([small.id, medium.id, large.id]);
  await sort.selectOption({ label: 'Shortest first' });
  await expect.poll(() => shownIds(page)).toEqual([large.id, medium.id, small.id]);
  await sort.selectOption({ label: 'Oldest first' });
  await expect.poll(() => shownIds(page)).toEqual([small.id, large.id, medium.id]);

  // A page of 10: the cursor pages in the chosen order.
  await page.getByLabel('Page size').selectOption('10');
  await sort.selectOption({ label: 'Largest first' });
  await expect.poll(() => shownIds(page)).toEqual([large.id, medium.id, small.id]);
  expect(new URL(page.url()).search).toContain('sort=size');
  expect(new URL(page.url()).search).toContain('limit=10');
  await page.reload();
  await expect(page.getByLabel('Sort')).toHaveValue('size:desc');
  await expect(page.getByLabel('Page size')).toHaveValue('10');
  await expect.poll(() => shownIds(page)).toEqual([large.id, medium.id, small.id]);

  // The link, opened by someone else (another browser context, signed in afresh), shows the same search.
  const shared = await (await browser.newContext({ timezoneId: TZ })).newPage();
  await shared.goto(page.url());
  await expect(shared.getByLabel('Sort')).toHaveValue('size:desc');
  await expect.poll(() => shownIds(shared)).toEqual([large.id, medium.id, small.id]);
});

test('bulk delete removes exactly the ticked recordings, after a confirmation naming how many', async ({
  page,
  request,
  baseURL,
  service,
}) => {
  const t = await tokens(baseURL!);
  const made: Seeded[] = [];
  for (const [i, who] of (['user', 'other', 'user', 'other'] as const).entries())
    made.push(await seed(request, t[who], { sessionId: `sess-bulk-${i}`, bytes: 3000 + i }));
  const [keep1, gone1, keep2, gone2] = made as [Seeded, Seeded, Seeded, Seeded];
  for (const r of made) expect((await service.storedFiles(r.id)).length).toBeGreaterThan(0);

  await openAdmin(page, 'admin', 'recordings');
  await expect(rows(page)).toHaveCount(4);
  const bulk = page.getByRole('button', { name: /Delete selected/ });
  await expect(bulk).toBeDisabled();
  for (const r of [gone1, gone2]) await page.locator(`input[data-select="${r.id}"]`).check();
  await expect(bulk).toHaveText('Delete selected (2)');

  // Cancel first: nothing goes.
  await bulk.click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading')).toHaveText('Delete 2 recordings?');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(rows(page)).toHaveCount(4);

  await bulk.click();
  await dialog.getByRole('button', { name: 'Delete 2 recordings' }).click();
  await expect(page.locator('.toast')).toContainText('Deleted 2 recordings.');
  await expect(rows(page)).toHaveCount(2);
  expect((await shownIds(page)).sort()).toEqual([keep1.id, keep2.id].sort());

  // The service agrees, and the bytes of exactly those two are gone.
  const list = await request.get('/api/admin/recordings', { headers: { Authorization: `Bearer ${t.admin}` } });
  expect(((await list.json()) as { items: { id: string }[] }).items.map((r) => r.id).sort()).toEqual(
    [keep1.id, keep2.id].sort(),
  );
  for (const r of [gone1, gone2]) expect(await service.storedFiles(r.id)).toEqual([]);
  for (const r of [keep1, keep2]) expect((await service.storedFiles(r.id)).length).toBeGreaterThan(0);

  // Tick-all takes every row shown.
  await page.getByLabel('Select every recording shown').check();
  await expect(bulk).toHaveText('Delete selected (2)');
});

test('a failed recording shows how it ended and its reason; the status filter finds it', async ({
  page,
  request,
  baseURL,
}) => {
  const t = await tokens(baseURL!);
  const reason = 'NotReadableError: the camera is in use by another application';
  const failed = await seed(request, t.user, { sessionId: 'sess-failed', bytes: 1500, failReason: reason });
  const ok = await seed(request, t.user, { sessionId: 'sess-ok', bytes: 1500 });

  await openAdmin(page, 'admin', 'recordings');
  const row = page.locator(`tr[data-recording-id="${failed.id}"]`);
  const cell = row.locator('td[data-col="ended-by"]');
  await expect(cell).toHaveAttribute('data-ended-by', 'failed');
  await expect(cell).toContainText('Failed');
  await expect(cell.locator('[data-col="failure-reason"]')).toHaveText(reason);
  await expect(cell.locator('[data-col="failure-reason"]')).toHaveAttribute('title', reason);
  await expect(page.locator(`tr[data-recording-id="${ok.id}"] td[data-col="ended-by"]`)).toContainText('Stopped');

  await page.getByLabel('Status').selectOption('failed');
  await expect.poll(() => shownIds(page)).toEqual([failed.id]);
  expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
});

test('"Copy link" copies the page link to the recording, which opens its player', async ({
  page,
  request,
  baseURL,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const t = await tokens(baseURL!);
  const rec = await seed(request, t.other, { sessionId: 'sess-link', bytes: 4321 });
  await openAdmin(page, 'admin', 'recordings');
  await page.locator(`tr[data-recording-id="${rec.id}"]`).getByRole('button', { name: 'Copy link' }).click();
  await expect(page.locator('.toast')).toContainText('Link to this recording copied.');
  const link = await page.evaluate(() => navigator.clipboard.readText());
  // A page link, not a file URL: it does not expire, and opening it needs a sign-in.
  expect(link).toBe(`${baseURL}/admin?as=admin#recordings&play=${rec.id}`);
  const opened = await context.newPage();
  await opened.goto(link);
  await expect(opened.locator(`dialog video[data-recording-id="${rec.id}"]`)).toBeAttached();
});

test('the overview charts show the seeded figures', async ({ page, request, baseURL }) => {
  const t = await tokens(baseURL!);
  await seed(request, t.user, { sessionId: 'sess-ov-1', bytes: 2048 });
  await seed(request, t.other, { sessionId: 'sess-ov-2', bytes: 1024 });
  await seed(request, t.other, { sessionId: 'sess-ov-3', bytes: 1000, failReason: 'network lost' });

  await openAdmin(page, 'admin', 'recordings');
  await page.getByRole('tab', { name: 'Overview' }).click();
  await expect(page.locator('[data-chart="storage"] .chart-figure')).toHaveText('3.0 KB');
  await expect(page.locator('[data-chart="per-day"] .chart-figure')).toHaveText('3 in 30 days');
  await expect(page.locator('[data-chart="failures"] .chart-figure')).toHaveText('1 of 3 ended');
  await expect(page.locator('[data-chart="failures"] .bar-list li')).toHaveText([/network lost\s*1/]);
  await expect(page.getByRole('img', { name: /Failure rate: 33\.3%/ })).toBeVisible();
  await expect(page.locator('[data-chart="users"] .bar-list li')).toHaveCount(2);
  // Keyboard: the tabs answer the arrow keys.
  await page.getByRole('tab', { name: 'Overview' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Recordings' })).toHaveAttribute('aria-selected', 'true');
});
