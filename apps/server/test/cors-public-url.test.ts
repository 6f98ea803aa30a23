/**
 * SORTIE_CORS_ORIGINS (the session frontend on another origin calls the API
 * and PUTs local parts) and SORTIE_PUBLIC_URL (the origin put into the URLs
 * the service issues).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etagValidates, testApp, type TestApp } from './helpers.js';

const APP_ORIGIN = 'https://app.example.com';
let t: TestApp;
let plain: TestApp;
beforeAll(async () => {
  t = await testApp({
    env: {
      SORTIE_CORS_ORIGINS: `${APP_ORIGIN}, https://other.example.com`,
      SORTIE_PUBLIC_URL: 'https://rec.example.com/',
    },
  });
  plain = await testApp({ database: t.database });
});
afterAll(async () => {
  await plain?.close();
  await t?.close();
});

const preflight = (
  app: TestApp,
  path: string,
  origin: string,
  method: string,
  headers = 'authorization, content-type',
) =>
  app.app.request(path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS', () => {
  it('answers the preflight of an allowed origin for the API and for a local part PUT', async () => {
    const api = await preflight(t, '/api/recordings', APP_ORIGIN, 'POST');
    expect(api.status).toBe(204);
    expect(api.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(api.headers.get('access-control-allow-methods')).toContain('POST');
    expect(api.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const put = await preflight(t, '/api/uploads/some-token', APP_ORIGIN, 'PUT', 'content-type');
    expect(put.status).toBe(204);
    expect(put.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('exposes ETag on a real part PUT, so the browser can read it for complete', async () => {
    const created = (await (
      await t.json(
        'POST',
        '/api/recordings',
        { sessionId: 'cors', mimeType: 'video/webm' },
        { ...t.auth.user, origin: APP_ORIGIN },
      )
    ).json()) as { id: string };
    const part = await t.json(
      'POST',
      `/api/recordings/${created.id}/parts`,
      { partNumber: 1, sizeBytes: 3 },
      { ...t.auth.user, origin: APP_ORIGIN },
    );
    const { url } = (await part.json()) as { url: string };
    const res = await t.app.request(new URL(url).pathname, {
      method: 'PUT',
      headers: { origin: APP_ORIGIN },
      body: 'abc',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('access-control-expose-headers')).toContain('ETag');
    expect(etagValidates('local', res.headers.get('etag') ?? '', Buffer.from('abc'))).toBe(true);
  });

  it('gives no CORS grant to an origin not listed, nor to any origin when none is configured', async () => {
    const stranger = await preflight(t, '/api/recordings', 'https://evil.example.com', 'POST');
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    const none = await preflight(plain, '/api/recordings', APP_ORIGIN, 'POST');
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('SORTIE_PUBLIC_URL', () => {
  it('is the origin of the part and download URLs the service issues', async () => {
    const created = (await (
      await t.json('POST', '/api/recordings', { sessionId: 'pub', mimeType: 'video/webm' }, t.auth.user)
    ).json()) as { id: string };
    const part = (await (
      await t.json('POST', `/api/recordings/${created.id}/parts`, { partNumber: 1, sizeBytes: 3 }, t.auth.user)
    ).json()) as { url: string };
    expect(part.url.startsWith('https://rec.example.com/api/uploads/')).toBe(true);
    const put = await t.app.request(new URL(part.url).pathname, { method: 'PUT', body: 'xyz' });
    const etag = put.headers.get('etag')!;
    await t.json(
      'POST',
      `/api/recordings/${created.id}/complete`,
      { durationMs: 1, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    const dl = (await (
      await t.json('POST', `/api/recordings/${created.id}/download-url`, undefined, t.auth.user)
    ).json()) as { url: string };
    expect(dl.url.startsWith('https://rec.example.com/api/files/')).toBe(true);
  });

  it('is taken from the request when unset', async () => {
    const created = (await (
      await plain.json('POST', '/api/recordings', { sessionId: 'pub2', mimeType: 'video/webm' }, plain.auth.user)
    ).json()) as { id: string };
    const res = await plain.app.request(`http://sortie.internal:8080/api/recordings/${created.id}/parts`, {
      method: 'POST',
      headers: { ...plain.auth.user, 'content-type': 'application/json' },
      body: JSON.stringify({ partNumber: 1, sizeBytes: 3 }),
    });
    expect(((await res.json()) as { url: string }).url.startsWith('http://sortie.internal:8080/api/uploads/')).toBe(
      true,
    );
  });
});
