/**
 * The pages work under the service's Content-Security-Policy
 * in Chromium — sign-in, recording (the parts go to the service or, on the S3
 * project, straight to the bucket), the record button's shadow-DOM styles, the
 * admin panel and playback — with no violation reported.
 */
import type { Page } from '@playwright/test';
import { expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import { playerDuration, recordFor, recordingIdOfSession, recordingRow } from '../fixtures/browser.ts';

/** Collects every CSP violation the page reports, from its first script on. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) console.push(m.text());
  });
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return async () => [...console, ...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp))];
}

test('the session page and the admin panel run under the CSP: record, list, play, download, no violation', async ({
  page,
  context,
}, testInfo) => {
  const violations = await watchViolations(page);
  const sessionId = `e2e-${testInfo.project.name}-csp`;
  const res = await page.goto(`/?as=user&session=${encodeURIComponent(sessionId)}`);
  const csp = res!.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'self'");
  await openSession(page, 'user', sessionId);
  await recordFor(page, 2);
  const id = await recordingIdOfSession(page, sessionId);
  await expect(recordingRow(page.locator('#my-recordings'), id).locator('[data-col="status"]')).toHaveText('Ready');
  // The record button's shadow root is styled (its inline <style> was not blocked).
  const radius = await page
    .locator('sortie-record-button')
    .evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('button')!).borderTopLeftRadius);
  expect(radius).toBe('999px');
  expect(await violations()).toEqual([]);

  const admin = await context.newPage();
  const adminViolations = await watchViolations(admin);
  await openAdmin(admin, 'admin', 'recordings');
  const row = recordingRow(admin, id);
  await expect(row.locator('[data-col="status"]')).toHaveText('Ready');
  await row.getByRole('button', { name: 'Play' }).click();
  expect(await playerDuration(admin)).toBeGreaterThan(1);
  await expect
    .poll(() => admin.locator('dialog video').evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeGreaterThan(0.2);
  await admin.getByRole('button', { name: 'Close player' }).click();
  // A download still happens: the file's own CSP (sandbox) does not stop an attachment.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    row.getByRole('button', { name: 'Download' }).click(),
  ]);
  expect(await download.failure()).toBeNull();
  expect(download.suggestedFilename()).toMatch(/\.webm$/);
  expect(await adminViolations()).toEqual([]);
});
