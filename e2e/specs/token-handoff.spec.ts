/**
 * Outside demo mode the pages take the token Sortie gives them (#token= in
 * the URL), keep it out of the address bar, and let the service decide who
 * is an administrator. A host refreshes the token through
 * window.SORTIE_TOKEN or sessionStorage; the pages read it at each request.
 * In demo mode a #token= is dropped from the address bar too.
 */
import type { Page } from '@playwright/test';
import { TEST_SECRET, token } from '@sortie/server/test-helpers';
import { expect, test } from '../fixtures/service.ts';
import { recordButton, recordFor } from '../fixtures/browser.ts';

/** Waits until a token with `expiresIn` seconds made at `madeAt` has lapsed (the service has no leeway). */
async function waitForExpiry(page: Page, madeAt: number, expiresIn: number): Promise<void> {
  const left = madeAt + (expiresIn + 1.5) * 1000 - Date.now();
  if (left > 0) await page.waitForTimeout(left);
}

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
  // The filters have names a screen reader announces, not just placeholders.
  await expect(asAdmin.getByRole('searchbox', { name: 'User' })).toBeVisible();
  await expect(asAdmin.getByRole('searchbox', { name: 'Session' })).toBeVisible();
  await expect(asAdmin.getByRole('combobox', { name: 'Status' })).toBeVisible();

  const asUser = await (await browser.newContext()).newPage();
  await asUser.goto(`/admin#token=${await token({ sub: 'u-grace', name: 'Grace Hopper' })}`);
  await expect(asUser.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
  await expect(asUser.getByRole('tab')).toHaveCount(0);
});

for (const where of ['window.SORTIE_TOKEN', 'sessionStorage'] as const) {
  test(`a token the host refreshes in ${where} is used once the first one has expired`, async ({ page }) => {
    const madeAt = Date.now();
    const shortLived = await token({ sub: 'u-grace', name: 'Grace Hopper' }, { expiresIn: 4 });
    await page.goto(`/?session=sortie-refresh#token=${shortLived}`);
    await expect(page.locator('.identity')).toHaveText(/Grace Hopper/);
    await expect(page.locator('#my-recordings')).toContainText('No recordings yet');
    // The host hands over a fresh token, then the first one lapses.
    const fresh = await token({ sub: 'u-grace', name: 'Grace Hopper' }, { expiresIn: 600 });
    const sent: string[] = [];
    page.on('request', (r) => {
      const auth = r.headers()['authorization'];
      if (auth) sent.push(auth.replace(/^Bearer /, ''));
    });
    await page.evaluate(
      ([w, t]) => {
        if (w === 'sessionStorage') sessionStorage.setItem('sortie.token', t);
        else (window as unknown as { SORTIE_TOKEN?: string }).SORTIE_TOKEN = t;
      },
      [where, fresh] as const,
    );
    await waitForExpiry(page, madeAt, 4);
    // The SDK first tries its cached (expired) token, gets a 401, asks again and must get the fresh one.
    await recordFor(page, 2);
    await expect(page.locator('#my-recordings')).toContainText('sortie-refresh');
    expect(sent).toContain(fresh);
  });
}

test.describe('demo mode', () => {
  test.use({ serviceEnv: {} });

  test('a #token= is dropped from the address bar there too', async ({ page }) => {
    await page.goto('/?as=user#token=not-used-in-demo-mode&x=1');
    await expect(page.locator('#demo-as')).toBeVisible();
    await expect(recordButton(page)).toBeVisible();
    expect(page.url()).not.toContain('token=');
    expect(new URL(page.url()).hash).toBe('#x=1');
  });
});
