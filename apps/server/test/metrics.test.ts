import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock, TEST_STORAGE, testApp, type TestApp } from './helpers.js';

// On S3 the part bytes go straight to the bucket: the service issues the URLs but never receives the bytes.
const viaService = TEST_STORAGE === 'local';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

/** Prometheus text → { 'name{a="b"}': value }, labels kept in the order printed. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const r = await t.app.request('/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await r.text());
}

async function upload(sizes: number[]): Promise<string> {
  const created = await t.json('POST', '/api/recordings', { sessionId: 'sess-m', mimeType: 'video/webm' }, t.auth.user);
  const { id } = (await created.json()) as { id: string };
  const parts = [];
  for (const [i, size] of sizes.entries()) {
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: i + 1, sizeBytes: size }, t.auth.user);
    const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
    const put = await t.send(url, { method: 'PUT', headers, body: randomBytes(size) });
    expect(put.status).toBe(200);
    parts.push({ partNumber: i + 1, etag: put.headers.get('etag')! });
  }
  const done = await t.json('POST', `/api/recordings/${id}/complete`, { durationMs: 1000, parts }, t.auth.user);
  expect(done.status).toBe(200);
  return id;
}

describe('GET /metrics', () => {
  it('answers without a token, in the Prometheus text format, with every recording status present', async () => {
    const m = await scrape();
    for (const status of ['recording', 'uploading', 'ready', 'failed']) {
      expect(m.get(`sortie_recordings{status="${status}"}`)).toBe(0);
    }
    expect(m.get('sortie_upload_parts_received_total')).toBe(0);
    expect(m.get('sortie_retention_deleted_total')).toBe(0);
  });

  it('counts the bytes, parts, part latency and part URLs of an upload, and the recordings by status', async () => {
    // S3 holds every part but the last to 5 MiB; locally any size goes.
    await upload(viaService ? [1000, 2500, 17] : [5 * 1024 * 1024, 17]);
    // A second recording left open: it shows up under "recording".
    await t.json('POST', '/api/recordings', { sessionId: 'sess-open', mimeType: 'video/webm' }, t.auth.user);
    const m = await scrape();
    expect(m.get('sortie_recordings{status="ready"}')).toBe(1);
    expect(m.get('sortie_recordings{status="recording"}')).toBe(1);
    if (viaService) {
      expect(m.get('sortie_upload_part_urls_issued_total')).toBe(3);
      expect(m.get('sortie_upload_parts_received_total')).toBe(3);
      expect(m.get('sortie_upload_bytes_received_total')).toBe(3517);
      expect(m.get('sortie_upload_part_duration_seconds_count')).toBe(3);
      expect(m.get('sortie_upload_part_duration_seconds_sum')).toBeGreaterThan(0);
      expect(m.get('sortie_upload_part_duration_seconds_bucket{le="+Inf"}')).toBe(3);
      expect(m.get('sortie_http_requests_total{method="PUT",route="/api/uploads/:token",status="200"}')).toBe(3);
    } else {
      expect(m.get('sortie_upload_part_urls_issued_total')).toBe(2);
      expect(m.get('sortie_upload_parts_received_total')).toBe(0);
      expect(m.get('sortie_upload_bytes_received_total')).toBe(0);
    }
  });

  it('counts errors by route pattern, and no label carries an upload token', async () => {
    const missing = await t.app.request(`/api/recordings/${randomUUID()}`, { headers: t.auth.user });
    expect(missing.status).toBe(404);
    // Local: the service's own part route refuses the token (401). S3 has no such route (404).
    const refused = t.storage.receiver ? 401 : 404;
    const badToken = await t.app.request('/api/uploads/not-a-token', { method: 'PUT', body: 'x' });
    expect(badToken.status).toBe(refused);
    const r = await t.app.request('/metrics');
    const text = await r.text();
    const m = parseMetrics(text);
    expect(m.get('sortie_http_errors_total{method="GET",route="/api/recordings/:id",status="404"}')).toBe(1);
    expect(m.get(`sortie_http_errors_total{method="PUT",route="/api/uploads/:token",status="${refused}"}`)).toBe(1);
    expect(text).not.toContain('not-a-token');
    // A failed PUT is not a received part.
    expect(m.get('sortie_upload_parts_received_total')).toBe(viaService ? 3 : 0);
  });
});

describe('retention deletions', () => {
  it('are counted when an admin runs retention', async () => {
    // Starts now: local upload URLs carry a real-time expiry.
    const clock = fakeClock();
    const r = await testApp({ clock, env: { SORTIE_RECORDING_RETENTION_DAYS: '1' } });
    try {
      const ids = [];
      for (const sessionId of ['old-1', 'old-2']) {
        const created = await r.json('POST', '/api/recordings', { sessionId, mimeType: 'video/webm' }, r.auth.user);
        const { id } = (await created.json()) as { id: string };
        const p = await r.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 10 }, r.auth.user);
        const { url, headers } = (await p.json()) as { url: string; headers: Record<string, string> };
        const put = await r.send(url, { method: 'PUT', headers, body: randomBytes(10) });
        const done = await r.json(
          'POST',
          `/api/recordings/${id}/complete`,
          { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] },
          r.auth.user,
        );
        expect(done.status).toBe(200);
        ids.push(id);
      }
      clock.advance(2 * 24 * 60 * 60 * 1000);
      const run = await r.json('POST', '/api/admin/retention/run', undefined, r.auth.admin);
      expect(await run.json()).toMatchObject({ deleted: 2 });
      const text = await (await r.app.request('/metrics')).text();
      expect(parseMetrics(text).get('sortie_retention_deleted_total')).toBe(2);
      expect(parseMetrics(text).get('sortie_recordings{status="ready"}')).toBe(0);
    } finally {
      await r.close();
    }
  });
});

describe('request log', () => {
  it('writes one JSON line per request with request id, method, route pattern, status and duration, never the token', async () => {
    const created = await t.json(
      'POST',
      '/api/recordings',
      { sessionId: 'sess-log', mimeType: 'video/webm' },
      t.auth.user,
    );
    const { id } = (await created.json()) as { id: string };
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.user);
    const { url } = (await r.json()) as { url: string };
    const token = url.split('/').pop()!;
    const dl = await t.json('POST', `/api/recordings/${id}/download-url`, undefined, t.auth.user);
    expect(dl.status).toBe(409); // not ready: still a logged, counted error
    const logged = await t.app.request(`/api/recordings/${id}`, {
      headers: { ...t.auth.user, 'x-request-id': 'req-test-42' },
    });
    expect(logged.status).toBe(200);
    const line = t.logger.lines.find((l) => l.requestId === 'req-test-42');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      route: '/api/recordings/:id',
      status: 200,
    });
    expect(typeof line?.durationMs).toBe('number');
    if (viaService) {
      const put = await t.app.request(url, {
        method: 'PUT',
        body: randomBytes(10),
        headers: { 'x-request-id': 'req-test-43' },
      });
      expect(put.status).toBe(200);
      expect(t.logger.lines.find((l) => l.requestId === 'req-test-43')).toMatchObject({
        method: 'PUT',
        route: '/api/uploads/:token',
        status: 200,
      });
      // A header-less download URL carries a token in its path too.
      await t.json(
        'POST',
        `/api/recordings/${id}/complete`,
        { parts: [{ partNumber: 1, etag: put.headers.get('etag') }] },
        t.auth.user,
      );
      const file = (await (
        await t.json('POST', `/api/recordings/${id}/download-url`, undefined, t.auth.user)
      ).json()) as { url: string };
      expect((await t.app.request(file.url)).status).toBe(200);
      const fileToken = file.url.split('/').pop()!;
      expect(t.logger.lines.some((l) => l.route === '/api/files/:token' && l.status === 200)).toBe(true);
      expect(JSON.stringify(t.logger.lines)).not.toContain(fileToken);
    }
    expect(JSON.stringify(t.logger.lines)).not.toContain(token);
  });
});
