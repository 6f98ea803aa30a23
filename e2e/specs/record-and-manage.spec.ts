/**
 * Record a few seconds in the demo session → the button shows
 * recording, then uploading, then done → the recording is ready in "My
 * recordings" and in the admin Recordings tab, plays with a finite duration,
 * seeks, downloads as a file ffprobe reads, and deletes (gone from the list
 * and from storage).
 */
import { keyFor } from '../../apps/server/src/storage/types.ts';
import { expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import {
  ffprobe,
  playerDuration,
  recordFor,
  recordingIdOfSession,
  recordingRow,
  seekPlayer,
  watchButtonStatus,
} from '../fixtures/browser.ts';

test('a recording made in the session is ready, plays, seeks, downloads and deletes', async ({
  page,
  context,
  service,
}, testInfo) => {
  const sessionId = `e2e-${testInfo.project.name}-record`;
  await openSession(page, 'user', sessionId);
  const statuses = await watchButtonStatus(page);

  await recordFor(page, 3);
  const seen = await statuses();
  const recording = seen.indexOf('Recording');
  const saving = seen.findIndex((s, i) => i > recording && s.startsWith('Saving'));
  const saved = seen.lastIndexOf('Saved');
  expect(recording, `button statuses: ${seen.join(' → ')}`).toBeGreaterThanOrEqual(0);
  expect(saving, `button statuses: ${seen.join(' → ')}`).toBeGreaterThan(recording);
  expect(saved, `button statuses: ${seen.join(' → ')}`).toBeGreaterThan(saving);

  // Ready in "My recordings".
  const id = await recordingIdOfSession(page, sessionId);
  const mine = recordingRow(page.locator('#my-recordings'), id);
  await expect(mine.locator('[data-col="status"]')).toHaveText('Ready');
  // Three seconds at least; on a loaded machine the stop lands later, and the recording is as long as it really was.
  await expect(mine.locator('[data-col="duration"]')).toHaveText(/^\d+:\d\d$/);
  const [min, sec] = (await mine.locator('[data-col="duration"]').innerText()).split(':').map(Number);
  const listedSeconds = min! * 60 + sec!;
  expect(listedSeconds).toBeGreaterThanOrEqual(3);

  // Ready in the admin Recordings tab too, with its user and session.
  const admin = await context.newPage();
  await openAdmin(admin, 'admin', 'recordings');
  const row = recordingRow(admin, id);
  await expect(row.locator('[data-col="status"]')).toHaveText('Ready');
  // Stopped with the record button: the admin list says how it ended (Recording.endedBy 'stop').
  await expect(row.locator('[data-col="ended-by"]')).toHaveText('Stopped');
  await expect(row).toContainText('Demo User');
  await expect(row).toContainText(sessionId);

  // Downloads as a file ffprobe reads: WebM that knows its duration, every frame decodable.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    row.getByRole('button', { name: 'Download' }).click(),
  ]);
  const file = testInfo.outputPath('download.webm');
  await download.saveAs(file);
  const probe = ffprobe(file);
  expect(probe.formatName).toContain('webm');
  expect(probe.video?.codec).toMatch(/^(vp8|vp9|av1|h264)$/);
  // Real video, not one keyframe: the canvas redraws at the page's frame rate, which a loaded machine lowers
  // (25 frames in 3 s were seen), so the count is a floor, not 30 fps.
  expect(probe.video!.frames).toBeGreaterThanOrEqual(10);
  expect(probe.durationSeconds, 'duration in the file (ffprobe)').not.toBeNull();
  expect(probe.durationSeconds!).toBeGreaterThan(2.5);
  // The list, the row and the file agree on how long it is.
  expect(
    Math.abs(listedSeconds - probe.durationSeconds!),
    `listed ${listedSeconds} s, ffprobe ${probe.durationSeconds} s`,
  ).toBeLessThanOrEqual(1);
  const stored = await service.service.recordings.rowById(id);
  expect(Math.abs(stored!.durationMs! / 1000 - probe.durationSeconds!)).toBeLessThan(0.5);

  // It plays with a finite duration, and seeks.
  await row.getByRole('button', { name: 'Play' }).click();
  const duration = await playerDuration(admin);
  expect(Number.isFinite(duration), `video.duration is ${duration}`).toBe(true);
  expect(
    Math.abs(duration - probe.durationSeconds!),
    `player ${duration} s, ffprobe ${probe.durationSeconds} s`,
  ).toBeLessThan(0.5);
  await expect
    .poll(() => admin.locator('dialog video').evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeGreaterThan(0.2);
  const landed = await seekPlayer(admin, duration * 0.6);
  expect(Math.abs(landed - duration * 0.6)).toBeLessThan(0.5);
  await admin.getByRole('button', { name: 'Close player' }).click();
  await expect(admin.locator('dialog')).toHaveCount(0);

  // Deletes, after confirmation: gone from both lists and from storage.
  const rec = await service.service.recordings.rowById(id);
  expect(rec).not.toBeNull();
  const key = keyFor(id, rec!.mimeType);
  expect(await service.storedFiles(id)).not.toEqual([]);
  await row.getByRole('button', { name: 'Delete' }).click();
  const confirm = admin.getByRole('dialog');
  await expect(confirm).toContainText('Delete this recording?');
  await confirm.getByRole('button', { name: 'Delete recording' }).click();
  await expect(row).toHaveCount(0);
  await expect(admin.getByText('Recording deleted.')).toBeVisible();

  await page.reload();
  await expect(page.locator('#my-recordings')).toBeVisible();
  await expect(recordingRow(page, id)).toHaveCount(0);
  await expect(page.locator('#my-recordings')).toContainText('No recordings yet');

  expect(await service.service.storage.stat(key)).toBeNull();
  expect(await service.storedFiles(id)).toEqual([]);
});
