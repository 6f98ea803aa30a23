/**
 * The admin turns auto-record on in Settings → a new session
 * starts recording on its own → the user stops it → it is ready.
 */
import { expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import {
  buttonStatus,
  recordButton,
  recordingIdOfSession,
  recordingRow,
  untilClock,
  watchButtonStatus,
} from '../fixtures/browser.ts';

test('auto-record switched on in Settings records the next session until the user stops it', async ({
  page,
  context,
}, testInfo) => {
  // Control: with auto-record off, a running session does not record.
  await openSession(page, 'user', `e2e-${testInfo.project.name}-before`);
  await expect(page.locator('#session-state')).toHaveText('Running');
  await expect(recordButton(page)).toHaveText('Record');
  await expect(buttonStatus(page)).toHaveText('');
  await expect(page.locator('#auto-record-badge')).toHaveCount(0);

  const admin = await context.newPage();
  await openAdmin(admin, 'admin', 'settings');
  const toggle = admin.getByRole('switch', { name: 'Auto-record every session' });
  await expect(toggle).not.toBeChecked();
  await expect(admin.locator('#auto-record-meta')).toContainText('Never changed');
  await admin.locator('.switch').click();
  await expect(toggle).toBeChecked();
  await expect(admin.locator('#auto-record-state')).toHaveText('On');
  await expect(admin.locator('#auto-record-meta')).toContainText('by demo-admin');
  // Stored, not just shown: a reload reads it back.
  await admin.reload();
  await expect(admin.getByRole('switch', { name: 'Auto-record every session' })).toBeChecked();

  // A new session: nobody touches the button, and it records once the session runs.
  const sessionId = `e2e-${testInfo.project.name}-auto`;
  await openSession(page, 'user', sessionId);
  const statuses = await watchButtonStatus(page);
  await expect(page.locator('#auto-record-badge')).toBeVisible();
  await expect(page.locator('#session-state')).toHaveText('Running');
  await expect(buttonStatus(page)).toHaveText('Recording');
  await expect(recordButton(page)).toHaveText('Stop');
  await untilClock(page, 2, 20_000);

  // The user can still stop it.
  await recordButton(page).click();
  await expect(buttonStatus(page)).toHaveText('Saved', { timeout: 30_000 });
  expect((await statuses()).some((s) => s.startsWith('Saving'))).toBe(true);
  // It stays stopped: auto-record respects the user's Stop for the rest of the session.
  await expect(recordButton(page)).toHaveText('Record');

  const id = await recordingIdOfSession(page, sessionId);
  await expect(recordingRow(page.locator('#my-recordings'), id).locator('[data-col="status"]')).toHaveText('Ready');
  // Exactly one recording: the control session made none.
  await expect(page.locator('#my-recordings tr[data-recording-id]')).toHaveCount(1);
});
