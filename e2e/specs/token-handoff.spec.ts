/**
 * Outside demo mode the pages take the token Sortie gives them (#token= in
 * the URL), keep it out of the address bar, and let the service decide who
 * is an administrator.
 */
import { TEST_SECRET, token } from '@sortie/server/test-helpers';
import { expect, test } from '../fixtures/service.ts';
import { recordButton } from '../fixtures/browser.ts';

test.use({ serviceEnv: { SORTIE_DEMO: 'false', SORTIE_AUTH_JWT_SECRET: TEST_SECRET } });

test('the session page signs in with the token in #token= and drops it from the address', async ({ page, browser }) => {
  const jwt = await token({ sub: 'u-grace', name: 'Grace Hopper' });
  await page.goto(`/?session=sortie-42#token=${jwt}`);
  await expect(page.locator('.identity')).toHaveText(/Grace Hopper/);
  await expect(page.locator('#demo-as')).toHaveCount(0);
  await expect(recordButton(page)).toBeVisible();
  await expect(page.locator('#my-recordings')).toContainText('No recordings yet');
  expect(page.url()).not.toContain('token=');
  // A reload in the same tab keeps the sign-in (sessionStorage), still with no token in the URL.
  await page.reload();
  await expect(page.locator('.identity')).toHaveText(/Grace Hopper/);

  // Without a token and without demo mode there is nobody to act as.
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto('/');
  await expect(stranger.getByRole('heading', { name: 'Not signed in' })).toBeVisible();
  await expect(stranger.locator('sortie-record-button')).toHaveCount(0);
});

test('the admin panel opens for an admin token and not for a user token', async ({ browser }) => {
  const asAdmin = await (await browser.newContext()).newPage();
  await asAdmin.goto(`/admin#token=${await token({ sub: 'u-ops', name: 'Ops Admin', roles: ['staff', 'admin'] })}`);
  await expect(asAdmin.getByRole('tab', { name: 'Recordings' })).toBeVisible();
  await expect(asAdmin.getByRole('tab', { name: 'Settings' })).toBeVisible();
  await expect(asAdmin.locator('#tab-recordings')).toContainText('No recordings yet');

  const asUser = await (await browser.newContext()).newPage();
  await asUser.goto(`/admin#token=${await token({ sub: 'u-grace', name: 'Grace Hopper' })}`);
  await expect(asUser.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
  await expect(asUser.getByRole('tab')).toHaveCount(0);
});
