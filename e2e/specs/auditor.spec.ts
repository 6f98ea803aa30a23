/**
 * An auditor in the admin panel: every user's recordings, read-only. The Recordings and Audit tabs (no Overview
 * or Settings), no tick boxes, bulk delete, Delete or Hold buttons; Play and Download as for an admin. What the panel
 * read is in the audit trail under the auditor's name.
 */
import { demoToken, expect, openAdmin, seedReadyRecording, test } from '../fixtures/service.ts';

test('an auditor sees every recording read-only, and the panel’s reads are audited', async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  // A recording of another user, made through the API as a client would (create, a part, complete).
  const sessionId = `e2e-${testInfo.project.name}-audited`;
  const rec = { id: await seedReadyRecording(request, await demoToken(baseURL!, 'user'), sessionId) };

  // Settings in the address bar: the auditor has no such tab, and lands on Recordings.
  await openAdmin(page, 'auditor', 'settings');
  await expect(page.getByRole('heading', { name: 'Recordings (auditor, read-only)' })).toBeVisible();
  await expect(page.getByRole('tab')).toHaveCount(2);
  await expect(page.getByRole('tab', { name: 'Audit' })).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Recordings' })).toHaveAttribute('aria-selected', 'true');
  const row = page.locator(`#tab-recordings tr[data-recording-id="${rec.id}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByRole('button', { name: 'Play' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Download' })).toBeEnabled();
  await expect(page.locator('#tab-recordings').getByRole('button', { name: /Delete/ })).toHaveCount(0);
  await expect(page.locator('#tab-recordings input[type="checkbox"]')).toHaveCount(0);
  await expect(page.locator('#tab-recordings').getByRole('button', { name: /hold/i })).toHaveCount(0);

  await row.getByRole('button', { name: 'Play' }).click();
  await expect(page.locator('dialog .player')).toBeVisible();
  await page.getByRole('button', { name: 'Close player' }).click();
  await expect(page.locator('dialog')).toHaveCount(0);

  // The panel's list and the player's reads are entries naming the auditor (read here by an admin).
  const admin = { Authorization: `Bearer ${await demoToken(baseURL!, 'admin')}` };
  const actions = async (recordingId?: string) => {
    const q = `actorId=demo-auditor&limit=200${recordingId ? `&recordingId=${recordingId}` : ''}`;
    const res = await request.get(`/api/admin/audit?${q}`, { headers: admin });
    expect(res.status()).toBe(200);
    return new Set(((await res.json()) as { items: { action: string }[] }).items.map((e) => e.action));
  };
  expect(await actions()).toContain('recording.list');
  await expect.poll(async () => [...(await actions(rec.id))].sort()).toContain('recording.download_url');
});
