/** With a 1 MB size limit, a long recording stops itself and is ready within the limit. */
import { demoToken, expect, openSession, test } from '../fixtures/service.ts';
import {
  buttonStatus,
  drawNoise,
  ffprobe,
  recordButton,
  recordingIdOfSession,
  recordingRow,
  watchButtonStatus,
} from '../fixtures/browser.ts';

test.use({ serviceEnv: { SORTIE_RECORDING_MAX_SIZE_MB: '1' } });

const LIMIT = 1024 * 1024;

test('a recording that reaches the 1 MiB limit stops by itself and is ready under it', async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  const sessionId = `e2e-${testInfo.project.name}-limit`;
  await openSession(page, 'user', sessionId);
  await expect(page.locator('.session-facts')).toContainText('limit 1.0 MB');
  const statuses = await watchButtonStatus(page);

  await drawNoise(page);
  await recordButton(page).click();
  await expect(buttonStatus(page)).toHaveText('Recording', { timeout: 60_000 });
  // Nobody presses Stop: the recorder stops at the limit, saves, and the button says so.
  await expect(buttonStatus(page)).toHaveText('Saved', { timeout: 50_000 });
  const seen = await statuses();
  expect(seen, seen.join(' → ')).toContain('Size limit reached; saving what was recorded.');

  const id = await recordingIdOfSession(page, sessionId);
  await expect(recordingRow(page, id).locator('[data-col="status"]')).toHaveText('Ready');

  const token = await demoToken(baseURL!, 'user');
  const auth = { Authorization: `Bearer ${token}` };
  const rec = await (await request.get(`/api/recordings/${id}`, { headers: auth })).json();
  expect(rec.status).toBe('ready');
  expect(rec.sizeBytes).toBeLessThanOrEqual(LIMIT);
  // It recorded up to the limit, not a stub: most of the MiB is there.
  expect(rec.sizeBytes).toBeGreaterThan(LIMIT / 2);

  // What was saved is a whole, playable file.
  const file = await request.get(`/api/recordings/${id}/download`, { headers: auth });
  expect(file.status()).toBe(200);
  const body = await file.body();
  expect(body.length).toBe(rec.sizeBytes);
  const path = testInfo.outputPath('limited.webm');
  await (await import('node:fs/promises')).writeFile(path, body);
  const probe = ffprobe(path);
  expect(probe.formatName).toContain('webm');
  expect(probe.video!.frames).toBeGreaterThan(10);
});
