/**
 * Words, not wire errors: what the pages say when something goes wrong or is
 * about to. An admin deleting a recording in progress is warned first, and the
 * session page then says the recording was deleted (the technical message only
 * on hover); a link to a deleted recording says it no longer exists and leads
 * back to the list; "Copy link" copies the page's link to the recording, and the
 * player's "Copy link to this moment" one that opens it at that moment; the bulk
 * confirmation names the sessions it deletes.
 */
import type { Page } from '@playwright/test';
import { demoToken, expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import {
  recordFor,
  recordingIdOfSession,
  recordingRow,
  seekPlayer,
  startRecording,
  untilClock,
} from '../fixtures/browser.ts';

test.use({ viewport: { width: 1280, height: 800 } });

/** Keeps what the page puts on the clipboard, in `window.__copied`, whatever the browser allows. */
async function captureClipboard(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const copied: string[] = [];
    (window as unknown as { __copied: string[] }).__copied = copied;
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void copied.push(text) },
    });
  });
  return () => page.evaluate(() => (window as unknown as { __copied: string[] }).__copied);
}

const currentTime = (p: Page) => p.locator('dialog video').evaluate((v: HTMLVideoElement) => v.currentTime);

test('an admin deletes a recording in progress: warned first; the session page and the old link say what happened', async ({
  page,
  context,
}, testInfo) => {
  const sessionId = `e2e-${testInfo.project.name}-words-live`;
  await openSession(page, 'user', sessionId);
  await startRecording(page);
  await untilClock(page, 2);

  const admin = await context.newPage();
  await openAdmin(admin, 'admin', 'recordings');
  const row = admin.locator('#tab-recordings tr[data-recording-id]', { hasText: sessionId });
  await expect(row.locator('[data-col="status"]')).toHaveText('Recording');
  const id = (await row.getAttribute('data-recording-id'))!;
  await row.getByRole('button', { name: 'Delete' }).click();
  const confirm = admin.getByRole('dialog');
  await expect(confirm.getByTestId('confirm-warning')).toHaveText(
    'This recording is still in progress: deleting it stops it and discards what was recorded.',
  );
  await confirm.getByRole('button', { name: 'Delete recording' }).click();
  await expect(admin.getByText('Recording deleted.')).toBeVisible();

  // The session page: words, and the technical message only in the title.
  const error = page.locator('sortie-record-button .error');
  await expect(error).toContainText('This recording was deleted by an administrator while it was recording', {
    timeout: 60_000,
  });
  await expect(error).not.toContainText('/api/');
  await expect(error).toHaveAttribute('title', /Recording not found/);

  // An old link to it: it no longer exists, and the way back leads to the list.
  // A page of its own: a goto that changes only the hash would not load the page again.
  const linked = await context.newPage();
  await linked.goto(`/admin?as=admin#recordings&play=${id}&t=1`);
  const problem = linked.getByTestId('link-problem');
  await expect(problem.locator('p').first()).toHaveText(
    'This recording no longer exists (it was deleted or never existed). The list shows the recordings there are.',
  );
  await expect(problem.locator('details')).not.toHaveAttribute('open');
  await problem.getByRole('button', { name: 'Back to the list' }).click();
  await expect(problem).toHaveCount(0);
  await expect(linked.locator('#tab-recordings')).toBeVisible();
  expect(new URL(linked.url()).hash).not.toContain('play=');
});

test('"Copy link" copies the page link to the recording; "Copy link to this moment" opens the player there', async ({
  page,
  context,
  baseURL,
}, testInfo) => {
  const sessionId = `e2e-${testInfo.project.name}-words-link`;
  await openSession(page, 'user', sessionId);
  await recordFor(page, 4);
  const id = await recordingIdOfSession(page, sessionId);

  const admin = await context.newPage();
  const copied = await captureClipboard(admin);
  await openAdmin(admin, 'admin', 'recordings');
  const row = recordingRow(admin, id);
  await expect(row.locator('[data-col="status"]')).toHaveText('Ready');
  await row.getByRole('button', { name: 'Copy link' }).click();
  await expect(admin.locator('.toast')).toContainText('Link to this recording copied.');
  const link = (await copied()).at(-1)!;
  expect(link).toBe(`${baseURL}/admin?as=admin#recordings&play=${id}`);

  // The link opens the player on that recording.
  const opened = await context.newPage();
  const copiedThere = await captureClipboard(opened);
  await opened.goto(link);
  await expect(opened.locator(`dialog video[data-recording-id="${id}"]`)).toBeVisible();
  await expect
    .poll(() => opened.locator('dialog video').evaluate((v: HTMLVideoElement) => v.readyState))
    .toBeGreaterThanOrEqual(1);
  await opened.locator('dialog video').evaluate((v: HTMLVideoElement) => v.pause());
  const landed = await seekPlayer(opened, 2.5);
  await opened.getByRole('button', { name: 'Copy link to this moment' }).click();
  await expect(opened.locator('.toast')).toContainText('Link to this moment copied.');
  const moment = (await copiedThere()).at(-1)!;
  const match = new RegExp(`^${baseURL}/admin\\?as=admin#recordings&play=${id}&t=([\\d.]+)$`).exec(moment);
  expect(match, moment).not.toBeNull();
  const t = Number(match![1]);
  expect(Math.abs(t - landed)).toBeLessThanOrEqual(0.1);

  // The moment's link opens the player at that moment.
  const atMoment = await context.newPage();
  await atMoment.goto(moment);
  await expect(atMoment.locator(`dialog video[data-recording-id="${id}"]`)).toBeVisible();
  await expect.poll(() => currentTime(atMoment)).toBeGreaterThanOrEqual(t - 0.05);
  const firstPlayed = await atMoment
    .locator('dialog video')
    .evaluate((v: HTMLVideoElement) => (v.played.length ? v.played.start(0) : null));
  if (firstPlayed !== null) expect(firstPlayed).toBeGreaterThanOrEqual(t - 0.05);
});

test('the bulk confirmation names the sessions it deletes, ten then "and n more", and warns of those in progress', async ({
  page,
  request,
  baseURL,
}) => {
  const token = await demoToken(baseURL!, 'user');
  for (let i = 1; i <= 12; i++) {
    const res = await request.post('/api/recordings', {
      headers: { Authorization: `Bearer ${token}` },
      data: { sessionId: `bulk-${String(i).padStart(2, '0')}`, mimeType: 'video/webm;codecs=vp8' },
    });
    expect(res.status()).toBe(201);
  }
  await openAdmin(page, 'admin', 'recordings');
  await expect(page.locator('#tab-recordings tr[data-recording-id]')).toHaveCount(12);
  await page.locator('input[data-select="all"]').check();
  await page.getByRole('button', { name: 'Delete selected (12)' }).click();
  const confirm = page.getByRole('dialog');
  await expect(confirm.getByTestId('confirm-warning')).toHaveText(
    '12 of them are still in progress: deleting stops them and discards what was recorded.',
  );
  const items = confirm.getByTestId('confirm-items').locator('li');
  await expect(items).toHaveCount(11);
  for (let i = 0; i < 10; i++)
    await expect(items.nth(i)).toContainText(/^Session bulk-\d\d — Demo User, .+ \(in progress\)$/);
  await expect(items.nth(10)).toHaveText('and 2 more');
  const named = new Set((await items.allInnerTexts()).slice(0, 10).map((s) => /bulk-\d\d/.exec(s)![0]));
  expect(named.size).toBe(10);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('#tab-recordings tr[data-recording-id]')).toHaveCount(12);
});
