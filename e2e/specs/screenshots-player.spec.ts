/**
 * The README's picture of the player, from a recording
 * made in the session page with the host page's markers (recorder.mark) and
 * the SDK's thumbnails: the admin panel's player paused at a marker, with the
 * thumbnail preview shown where the pointer hovers the timeline. Saved beside
 * the other screenshots (e2e/.artifacts/screenshots/<project>/player.png);
 * the latest local one is committed under docs/screenshots/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import {
  recordingIdOfSession,
  recordingRow,
  startRecording,
  stopRecordingAt,
  untilClock,
} from '../fixtures/browser.ts';

const OUT = fileURLToPath(new URL('../.artifacts/screenshots/', import.meta.url));

async function save(page: Page, project: string, name: string): Promise<void> {
  const png = await page.screenshot({ animations: 'disabled' });
  expect(png.length).toBeGreaterThan(20_000);
  await mkdir(`${OUT}${project}`, { recursive: true });
  await writeFile(`${OUT}${project}/${name}.png`, png);
}

const mark = (page: Page, label: string, data?: unknown) =>
  page.evaluate(
    ([l, d]) =>
      (
        document.querySelector('sortie-record-button') as unknown as {
          recorder: { mark(l: string, d?: unknown): boolean };
        }
      ).recorder.mark(l as string, d),
    [label, data] as const,
  );

test('screenshot of the player with thumbnails and markers', async ({ page, browser }, testInfo) => {
  test.setTimeout(120_000);
  const project = testInfo.project.name;
  const sessionId = 'sess-incident-review';
  await openSession(page, 'user', sessionId);
  await startRecording(page);
  const at = async (s: number, label: string, data?: unknown) => {
    await untilClock(page, s, 20_000);
    expect(await mark(page, label, data)).toBe(true);
  };
  await at(3, 'file opened', { path: '/srv/reports/q3.xlsx' });
  await at(6, 'clipboard');
  await at(9, 'privilege elevated', { user: 'root' });
  await stopRecordingAt(page, 14);
  const id = await recordingIdOfSession(page, sessionId);
  await expect(
    recordingRow(page.locator('#my-recordings'), id).locator('img.poster[data-poster="shown"]'),
  ).toBeVisible();

  const admin = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await openAdmin(admin, 'admin', 'recordings');
  const row = recordingRow(admin.locator('#tab-recordings'), id);
  await expect(row.locator('img.poster[data-poster="shown"]')).toBeVisible();
  await row.getByRole('button', { name: 'Play' }).click();
  const player = admin.locator('dialog .player');
  await expect(player).toBeVisible();
  await expect(player.locator('.player-marker')).toHaveCount(5);
  await expect(player).toHaveAttribute('data-thumbnails', '2');
  // Paused on the "clipboard" marker, the pointer over the timeline at 11 s.
  await admin.keyboard.press('k');
  await player.getByRole('button', { name: /^Marker: clipboard/ }).click();
  const track = (await admin.locator('dialog .player-track').boundingBox())!;
  const duration = await admin.locator('dialog video').evaluate((v: HTMLVideoElement) => v.duration);
  await admin.mouse.move(track.x + (track.width * 11) / duration, track.y + track.height / 2);
  await expect
    .poll(() => player.locator('.player-preview img').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth))
    .toBe(160);
  await save(admin, project, 'player');

  // 1280×800 and a narrow window (a phone held upright): every control still there, nothing cut off.
  for (const [name, size] of [
    ['player-1280', { width: 1280, height: 800 }],
    ['player-narrow', { width: 420, height: 900 }],
  ] as const) {
    await admin.setViewportSize(size);
    for (const control of ['Play', 'Back 5 seconds', 'Forward 5 seconds', 'Full screen'])
      await expect(player.getByRole('button', { name: control, exact: true })).toBeInViewport();
    await expect(player.getByLabel('Playback speed')).toBeInViewport();
    await expect(player.getByRole('slider', { name: 'Seek' })).toBeInViewport();
    // The dialog needs no sideways scrolling (the page under it is the lists' own).
    const overflow = await admin.locator('dialog').evaluate((d) => d.scrollWidth - d.clientWidth);
    expect(overflow, 'no sideways scrolling in the player').toBeLessThanOrEqual(0);
    await save(admin, project, name);
  }
});
