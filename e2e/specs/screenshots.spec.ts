/**
 * Screenshots of the session page and both admin tabs, taken
 * from a lived-in service (two users, a finished recording and one under
 * way), saved to e2e/.artifacts/screenshots/<project>/ by every run. The
 * latest local ones are committed under docs/screenshots/ for the README.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { demoToken, expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import { buttonStatus, recordButton, startRecording, stopRecordingAt, untilClock } from '../fixtures/browser.ts';

// A deployment that keeps recordings 30 days, so the Settings tab shows a retention policy.
test.use({ serviceEnv: { SORTIE_RECORDING_RETENTION_DAYS: '30' } });

const OUT = fileURLToPath(new URL('../.artifacts/screenshots/', import.meta.url));

async function save(page: Page, project: string, name: string): Promise<void> {
  const png = await page.screenshot({ animations: 'disabled' });
  // A real picture of a page, not an empty frame.
  expect(png.length).toBeGreaterThan(20_000);
  await mkdir(`${OUT}${project}`, { recursive: true });
  await writeFile(`${OUT}${project}/${name}.png`, png);
}

/** A recording that failed, made through the API as a client would: created, then failed with a reason. */
async function failedRecording(page: Page, baseURL: string, sessionId: string, reason: string): Promise<void> {
  const token = await demoToken(baseURL, 'other');
  const auth = { Authorization: `Bearer ${token}` };
  const created = await page.request.post('/api/recordings', {
    headers: auth,
    data: { sessionId, mimeType: 'video/webm' },
  });
  expect(created.status()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  expect((await page.request.post(`/api/recordings/${id}/fail`, { headers: auth, data: { reason } })).status()).toBe(
    200,
  );
}

test('screenshots of the session page, the admin tabs and the overview charts', async ({
  browser,
  baseURL,
}, testInfo) => {
  const project = testInfo.project.name;
  const other = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  const user = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await openSession(other, 'other', 'sess-onboarding');
  await openSession(user, 'user', 'sess-design-review');
  await Promise.all([startRecording(other), startRecording(user)]);
  await Promise.all([stopRecordingAt(other, 2), stopRecordingAt(user, 3)]);
  // A second recording under way when the picture is taken.
  await recordButton(user).click();
  await expect(buttonStatus(user)).toHaveText('Recording');
  await expect(user.locator('#my-recordings tr[data-status="recording"]')).toHaveCount(1);
  await untilClock(user, 2);
  await save(user, project, 'session');
  await recordButton(user).click();
  await expect(buttonStatus(user)).toHaveText('Saved', { timeout: 30_000 });

  const admin = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  // A recording that failed, with its reason, for the Ended by column and the overview's failure chart.
  await failedRecording(admin, baseURL!, 'sess-kiosk-7', 'NotAllowedError: screen capture permission denied');
  await openAdmin(admin, 'admin', 'recordings');
  await expect(admin.locator('#tab-recordings tr[data-status="ready"]')).toHaveCount(3);
  await expect(admin.locator('#tab-recordings tr[data-status="failed"] [data-col="failure-reason"]')).toBeVisible();
  await save(admin, project, 'admin-recordings');

  // The overview: storage over time, recordings per day by status, failures and their reasons, largest users.
  await admin.getByRole('tab', { name: 'Overview' }).click();
  await expect(admin.locator('[data-chart="per-day"] .chart-figure')).toHaveText('4 in 30 days');
  await expect(admin.locator('[data-chart="failures"] .bar-list li')).toHaveCount(1);
  await expect(admin.locator('[data-chart="users"] .bar-list li')).toHaveCount(2);
  await save(admin, project, 'admin-overview');

  // The same two views in a narrow window (a phone held upright): nothing hidden, nothing to scroll sideways but the table.
  await admin.setViewportSize({ width: 420, height: 900 });
  await save(admin, project, 'admin-overview-narrow');
  await admin.getByRole('tab', { name: 'Recordings' }).click();
  await expect(admin.locator('#tab-recordings tr[data-status="ready"]')).toHaveCount(3);
  await save(admin, project, 'admin-recordings-narrow');
  await admin.setViewportSize({ width: 1440, height: 900 });

  await admin.getByRole('tab', { name: 'Settings' }).click();
  await expect(admin.locator('[data-config="backend"] .config-value')).toHaveText(
    project === 's3' ? 'S3' : 'Local disk',
  );
  await expect(admin.locator('[data-config="max-size"] .config-value')).toHaveText('500 MB');
  await expect(admin.locator('[data-config="retention"] .config-value')).toHaveText('30 days');
  await expect(admin.getByRole('button', { name: 'Run cleanup now' })).toBeVisible();
  await save(admin, project, 'admin-settings');
});
