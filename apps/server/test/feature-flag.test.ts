import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: { SORTIE_VIDEO_RECORDING_ENABLED: 'false' } });
});
afterAll(async () => {
  await t?.close();
});

describe('SORTIE_VIDEO_RECORDING_ENABLED=false', () => {
  it('answers 404 on every recording and admin route, as if they did not exist, even with a valid token', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const routes: [string, string][] = [
      ['GET', '/api/recordings/config'],
      ['POST', '/api/recordings'],
      ['GET', '/api/recordings'],
      ['GET', `/api/recordings/${id}`],
      ['POST', `/api/recordings/${id}/parts`],
      ['POST', `/api/recordings/${id}/stop`],
      ['POST', `/api/recordings/${id}/complete`],
      ['POST', `/api/recordings/${id}/fail`],
      ['GET', `/api/recordings/${id}/download`],
      ['POST', `/api/recordings/${id}/download-url`],
      ['DELETE', `/api/recordings/${id}`],
      ['PUT', '/api/uploads/some-token'],
      ['GET', '/api/files/some-token'],
      ['GET', '/api/admin/recordings'],
      ['GET', '/api/admin/settings'],
      ['PUT', '/api/admin/settings'],
      ['POST', '/api/admin/retention/run'],
    ];
    for (const [method, path] of routes) {
      for (const headers of [t.auth.user, t.auth.admin]) {
        const r = await t.json(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, headers);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
      }
    }
  });

  it('registers no /api route at all, whatever is added later', () => {
    expect(t.app.routes.filter((r) => r.path.startsWith('/api') && r.method !== 'ALL').map((r) => r.path)).toEqual([]);
  });

  it('still answers health', async () => {
    expect((await t.app.request('/healthz')).status).toBe(200);
    expect((await t.app.request('/readyz')).status).toBe(200);
  });
});
