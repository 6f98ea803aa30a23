/**
 * Legal hold and the audit trail in the admin panel: an admin places a hold from a row (the reason asked in a
 * dialog), the row shows "Held" with the reason on hover, the "Held" filter finds it, Delete is off on the row
 * and the service refuses the delete; the Audit tab lists the hold entry, the action filter narrows the list
 * to it, the chain verifies, the export downloads JSON Lines that parse and hold the entry, and the entry's
 * recording id opens the player. An auditor then reads the same entry and sees the badge, with no hold buttons.
 */
import { readFile } from 'node:fs/promises';
import { demoToken, expect, openAdmin, seedReadyRecording, test } from '../fixtures/service.ts';

test('a legal hold placed from a row is shown, filtered, blocks delete, and is in the audit trail', async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  const id = await seedReadyRecording(request, await demoToken(baseURL!, 'user'), `e2e-${testInfo.project.name}-held`);
  const other = await seedReadyRecording(
    request,
    await demoToken(baseURL!, 'user'),
    `e2e-${testInfo.project.name}-free`,
  );
  const reason = 'Litigation 2026-17: keep until released';

  await openAdmin(page, 'admin');
  const row = page.locator(`#tab-recordings tr[data-recording-id="${id}"]`);
  await expect(row).toBeVisible();
  await row.getByRole('button', { name: 'Hold', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Place a legal hold' });
  await dialog.locator('textarea[name="reason"]').fill(reason);
  await dialog.getByRole('button', { name: 'Place hold' }).click();

  // The badge carries the reason; Delete is off and says why.
  const badge = row.locator('[data-held="true"]');
  await expect(badge).toHaveText('Held');
  await expect(badge).toHaveAttribute('title', new RegExp(reason));
  await expect(row.getByRole('button', { name: 'Release hold' })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Delete' })).toBeDisabled();
  await expect(row.getByRole('button', { name: 'Delete' })).toHaveAttribute('title', /legal hold/);
  const admin = { Authorization: `Bearer ${await demoToken(baseURL!, 'admin')}` };
  expect((await request.delete(`/api/recordings/${id}`, { headers: admin })).status()).toBe(409);

  // The "Held" filter: only the held one, and the other one when it asks for those not held.
  await page.locator('select[name="held"]').selectOption('true');
  await expect(page).toHaveURL(/held=true/);
  await expect(page.getByTestId('recordings-count')).toHaveText('1 recording');
  await expect(row).toBeVisible();
  await page.locator('select[name="held"]').selectOption('false');
  await expect(page.locator(`#tab-recordings tr[data-recording-id="${other}"]`)).toBeVisible();
  await expect(row).toHaveCount(0);

  // The Audit tab: the hold entry, the action filter, the chain's verification.
  await page.getByRole('tab', { name: 'Audit' }).click();
  const audit = page.locator('#tab-audit');
  const holdEntry = audit.locator('tr[data-action="recording.hold"]');
  await expect(holdEntry).toHaveCount(1);
  await expect(holdEntry.locator(`a[data-recording-link="${id}"]`)).toBeVisible();
  await expect(holdEntry).toContainText(reason);
  await expect(page.getByTestId('audit-verify')).toHaveText(/^Chain verified: \d+ entr(y|ies)$/);
  await expect(page.getByTestId('audit-verify')).toHaveAttribute('data-ok', 'true');
  await audit.locator('select[name="action"]').selectOption('recording.hold');
  await expect(audit.locator('tbody tr')).toHaveCount(1);
  await expect(audit.locator('tbody tr[data-action="recording.hold"]')).toHaveCount(1);

  // The export: a JSON Lines file whose every line parses, the hold entry among them.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    audit.getByRole('button', { name: 'Export' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('sortie-audit.jsonl');
  const text = await readFile((await download.path())!, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const entries = lines.map((l) => JSON.parse(l) as { action: string; recordingId: string | null; hash: string });
  expect(entries.length).toBeGreaterThan(0);
  expect(entries.every((e) => typeof e.hash === 'string')).toBe(true);
  expect(entries.some((e) => e.action === 'recording.hold' && e.recordingId === id)).toBe(true);

  // The entry's recording id opens that recording in the player.
  await holdEntry.locator(`a[data-recording-link="${id}"]`).click();
  await expect(page.locator(`dialog video[data-recording-id="${id}"]`)).toBeAttached();
  await page.getByRole('button', { name: 'Close player' }).click();
  await page.screenshot({ path: testInfo.outputPath('audit-tab.png') });

  // An auditor reads the same trail and sees the badge, with no Hold or Release button to press.
  await page.goto('/admin?as=auditor#audit');
  await expect(page.getByRole('tab', { name: 'Audit' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#tab-audit tr[data-action="recording.hold"]')).toHaveCount(1);
  await page.getByRole('tab', { name: 'Recordings' }).click();
  const auditorRow = page.locator(`#tab-recordings tr[data-recording-id="${id}"]`);
  await expect(auditorRow.locator('[data-held="true"]')).toBeVisible();
  await expect(page.locator('#tab-recordings').getByRole('button', { name: /hold/i })).toHaveCount(0);
});
