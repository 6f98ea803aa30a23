import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etagValidates, testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

async function putPart(id: string, partNumber: number, bytes: Uint8Array) {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  // Local URLs point at the service; S3 ones at the bucket.
  const put = await t.send(url, { method: 'PUT', headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

describe('upload flow', () => {
  it('stores parts sent out of order and downloads them joined in order', async () => {
    const created = await t.json(
      'POST',
      '/api/recordings',
      { sessionId: 'sess-1', mimeType: 'video/webm;codecs=vp9' },
      t.auth.user,
    );
    expect(created.status).toBe(201);
    const rec = (await created.json()) as { id: string; status: string };
    expect(rec.status).toBe('recording');
    // Every part but the last at least the backend's minimum (S3: 5 MiB).
    const full = Math.max(t.storage.minPartSizeBytes, 1000);
    const parts = [randomBytes(full), randomBytes(full + 1000), randomBytes(10)];
    const etags: string[] = [];
    for (const i of [2, 0, 1]) etags[i] = await putPart(rec.id, i + 1, parts[i]!);
    parts.forEach((p, i) => expect(etagValidates(t.storage.backend, etags[i]!, p), etags[i]).toBe(true));
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1234, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ status: 'ready', sizeBytes: 2 * full + 1010, durationMs: 1234 });
    let dl = await t.app.request(`/api/recordings/${rec.id}/download`, { headers: t.auth.user });
    // S3 answers with a redirect to a presigned GET; local serves the bytes itself.
    if (t.storage.backend === 's3') {
      expect(dl.status).toBe(302);
      dl = await t.send(dl.headers.get('location')!);
    }
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(Buffer.concat(parts))).toBe(true);
  });
});
