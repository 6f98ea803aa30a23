/** With recording disabled, no record button, no Recordings tab, and the API 404s. */
import { demoToken, expect, openAdmin, openSession, test } from '../fixtures/service.ts';

test.use({ serviceEnv: { SORTIE_VIDEO_RECORDING_ENABLED: 'false' } });

test('the session page has no recording controls', async ({ page }) => {
  await openSession(page, 'user', 'e2e-disabled');
  await expect(page.locator('#desktop')).toBeVisible();
  await expect(page.getByText('Recording is not enabled')).toBeVisible();
  await expect(page.locator('sortie-record-button')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /record/i })).toHaveCount(0);
  await expect(page.locator('#my-recordings')).toHaveCount(0);
});

test('the admin panel has no Recordings tab', async ({ page }) => {
  await openAdmin(page, 'admin');
  await expect(page.getByText('Recording is not enabled')).toBeVisible();
  await expect(page.getByRole('tab')).toHaveCount(0);
  await expect(page.locator('#tab-recordings')).toHaveCount(0);
});

test('every recording and admin route answers 404', async ({ request, baseURL }) => {
  const user = await demoToken(baseURL!, 'user');
  const admin = await demoToken(baseURL!, 'admin');
  const id = '00000000-0000-4000-8000-000000000000';
  const calls: [string, string, string][] = [
    ['GET', '/api/recordings/config', user],
    ['GET', '/api/recordings', user],
    ['POST', '/api/recordings', user],
    ['GET', `/api/recordings/${id}`, user],
    ['POST', `/api/recordings/${id}/download-url`, user],
    ['DELETE', `/api/recordings/${id}`, user],
    ['GET', '/api/admin/recordings', admin],
    ['GET', '/api/admin/settings', admin],
    ['PUT', '/api/admin/settings', admin],
    ['POST', '/api/admin/retention/run', admin],
  ];
  for (const [method, path, token] of calls) {
    const res = await request.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      data: method === 'GET' ? undefined : {},
    });
    expect(res.status(), `${method} ${path}`).toBe(404);
    expect((await res.json()).error.code, `${method} ${path}`).toBe('not_found');
  }
  // The service itself is up: health and the pages still answer.
  expect((await request.get('/healthz')).status()).toBe(200);
  expect((await request.get('/')).status()).toBe(200);
});
