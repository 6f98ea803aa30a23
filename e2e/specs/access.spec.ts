/** A user never sees another user's recordings; a non-admin gets no admin panel. */
import { demoToken, expect, openAdmin, openSession, test } from '../fixtures/service.ts';
import { recordingIdOfSession, startRecording, stopRecordingAt } from '../fixtures/browser.ts';

test('each user sees only their own recordings, in the page and through the API', async ({
  browser,
  request,
  baseURL,
}, testInfo) => {
  // Two people, two browser contexts: nothing shared but the service.
  const ada = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const adaSession = `e2e-${testInfo.project.name}-ada`;
  const bobSession = `e2e-${testInfo.project.name}-bob`;
  await openSession(ada, 'user', adaSession);
  await openSession(bob, 'other', bobSession);
  // Both record at the same time.
  await Promise.all([startRecording(ada), startRecording(bob)]);
  await Promise.all([stopRecordingAt(ada, 2), stopRecordingAt(bob, 2)]);
  const adaId = await recordingIdOfSession(ada, adaSession);
  const bobId = await recordingIdOfSession(bob, bobSession);

  for (const [page, own, foreign] of [
    [ada, adaId, bobId],
    [bob, bobId, adaId],
  ] as const) {
    await page.reload();
    const rows = page.locator('#my-recordings tr[data-recording-id]');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute('data-recording-id', own);
    await expect(page.locator(`tr[data-recording-id="${foreign}"]`)).toHaveCount(0);
  }

  // The API agrees: someone else's recording does not exist for you.
  const bobToken = await demoToken(baseURL!, 'other');
  const auth = { Authorization: `Bearer ${bobToken}` };
  const list = await (await request.get('/api/recordings', { headers: auth })).json();
  expect(list.items.map((r: { id: string }) => r.id)).toEqual([bobId]);
  for (const [method, path] of [
    ['GET', `/api/recordings/${adaId}`],
    ['POST', `/api/recordings/${adaId}/download-url`],
    ['GET', `/api/recordings/${adaId}/download`],
    ['DELETE', `/api/recordings/${adaId}`],
  ] as const) {
    const res = await request.fetch(path, { method, headers: auth });
    expect(res.status(), `${method} ${path}`).toBe(404);
  }
  // Ada's recording survived Bob's attempt to delete it.
  const adaToken = await demoToken(baseURL!, 'user');
  expect(
    (await request.get(`/api/recordings/${adaId}`, { headers: { Authorization: `Bearer ${adaToken}` } })).status(),
  ).toBe(200);
});

test('a non-admin gets no admin panel', async ({ page, request, baseURL }) => {
  await openSession(page, 'user', 'e2e-no-admin');
  await expect(page.getByRole('link', { name: 'Admin' })).toHaveCount(0);

  await openAdmin(page, 'user');
  await expect(page.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
  await expect(page.getByRole('tab')).toHaveCount(0);
  await expect(page.locator('table')).toHaveCount(0);

  const token = await demoToken(baseURL!, 'user');
  for (const [method, path] of [
    ['GET', '/api/admin/recordings'],
    ['GET', '/api/admin/settings'],
    ['PUT', '/api/admin/settings'],
    ['POST', '/api/admin/retention/run'],
  ] as const) {
    const res = await request.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      data: method === 'PUT' ? { autoRecord: true } : undefined,
    });
    expect(res.status(), `${method} ${path}`).toBe(403);
    expect((await res.json()).error.code).toBe('forbidden');
  }
});
