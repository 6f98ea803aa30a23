/**
 * S3's rules held by the service itself, and multipart uploads never left
 * open behind a recording, against the loopback S3 server: the 5 MiB part
 * floor, the 10 000 part ceiling and the size limit; uploads aborted on delete
 * and on failure; plus readiness and the ETag check on this backend.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingStorage } from '../src/storage/types.js';
import { S3Storage } from '../src/storage/s3.js';
import { testApp, type TestApp } from './helpers.js';
import { s3Env, sharedS3Server, type S3TestServer } from './s3-server.js';

const MiB = 1024 * 1024;
let t: TestApp;
let s3: S3TestServer;
beforeAll(async () => {
  s3 = await sharedS3Server();
  t = await testApp({ env: { ...s3Env(s3, `rules-${randomUUID()}/`), SORTIE_RECORDING_MAX_SIZE_MB: '12' } });
});
afterAll(async () => {
  await t?.close();
});

const md5 = (b: Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;

async function newRecording(): Promise<{ id: string; uploadId: string; key: string }> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'sess-rules', mimeType: 'video/webm' }, t.auth.user);
  expect(r.status).toBe(201);
  const { id } = (await r.json()) as { id: string };
  const row = (await t.service.recordings.rowById(id))!;
  return { id, uploadId: row.uploadId!, key: row.storageKey };
}

/** Asks for a part URL and PUTs the bytes to the bucket; answers the ETag. */
async function sendPart(id: string, partNumber: number, bytes: Buffer): Promise<string> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const res = await fetch(url, { method: 'PUT', headers, body: bytes });
  expect(res.status).toBe(200);
  return res.headers.get('etag')!;
}

const status = async (id: string) =>
  ((await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as { status: string }).status;

describe('S3 rules held by the service', () => {
  it('tells the SDK the backend, the 5 MiB part floor and the 10 000 part ceiling', async () => {
    const res = await t.json('GET', '/api/recordings/config', undefined, t.auth.user);
    expect(await res.json()).toMatchObject({
      backend: 's3',
      minPartSizeBytes: 5 * MiB,
      maxParts: 10_000,
      maxSizeBytes: 12 * MiB,
    });
  });

  it('refuses with 400, before reaching S3, a complete whose non-last part is under 5 MiB', async () => {
    const rec = await newRecording();
    // The loopback server, unlike S3, stores parts of any size; the service must not rely on S3 to refuse.
    const small = randomBytes(MiB);
    const last = randomBytes(10);
    const parts = [
      { partNumber: 1, etag: await sendPart(rec.id, 1, small) },
      { partNumber: 2, etag: await sendPart(rec.id, 2, last) },
    ];
    const seen = s3.requests.length;
    const res = await t.json('POST', `/api/recordings/${rec.id}/complete`, { durationMs: 5, parts }, t.auth.user);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'invalid_request',
        message: `Part 1 is ${MiB} bytes; every part but the last must be at least ${5 * MiB} bytes.`,
      },
    });
    // No CompleteMultipartUpload (a POST with uploadId) went to the server.
    expect(s3.requests.slice(seen).filter((r) => r.startsWith('POST '))).toEqual([]);
    expect(await status(rec.id)).toBe('recording');
    expect(await s3.openUploads()).toContain(rec.uploadId);
  });

  it('answers 413 to a complete whose stored parts sum over the limit, though their declared sizes fit', async () => {
    // Part 1 is issued for 8 MiB, then re-declared at 5 MiB so that part 2 can be issued;
    // the first URL is still valid and signed for 8 MiB, so the bucket holds 8 + 5 MiB > 12 MiB.
    const rec = await newRecording();
    const big = randomBytes(8 * MiB);
    const r1 = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 1, sizeBytes: big.length },
      t.auth.user,
    );
    const first = (await r1.json()) as { url: string; headers: Record<string, string> };
    expect(
      (await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 5 * MiB }, t.auth.user))
        .status,
    ).toBe(200);
    const etag2 = await sendPart(rec.id, 2, randomBytes(5 * MiB));
    const put1 = await fetch(first.url, { method: 'PUT', headers: first.headers, body: big });
    expect(put1.status).toBe(200);
    const res = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      {
        durationMs: 5,
        parts: [
          { partNumber: 1, etag: put1.headers.get('etag') },
          { partNumber: 2, etag: etag2 },
        ],
      },
      t.auth.user,
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(await status(rec.id)).toBe('recording');
    expect(await s3.openUploads()).toContain(rec.uploadId);
  });

  it('accepts a recording whose only part is small (the last part has no floor)', async () => {
    const rec = await newRecording();
    const bytes = randomBytes(1234);
    const etag = await sendPart(rec.id, 1, bytes);
    const res = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 5, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', sizeBytes: 1234 });
  });

  it('answers 413 to a /parts request that would pass the size limit, alone or with the other parts', async () => {
    const rec = await newRecording();
    const alone = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 1, sizeBytes: 12 * MiB + 1 },
      t.auth.user,
    );
    expect(alone.status).toBe(413);
    expect(((await alone.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const first = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 1, sizeBytes: 6 * MiB },
      t.auth.user,
    );
    expect(first.status).toBe(200);
    const second = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 2, sizeBytes: 6 * MiB + 1 },
      t.auth.user,
    );
    expect(second.status).toBe(413);
    // Re-asking for part 1 at the same size is no growth.
    expect(
      (await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 6 * MiB }, t.auth.user))
        .status,
    ).toBe(200);
  });

  it('refuses a part number over 10 000', async () => {
    const rec = await newRecording();
    const res = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 10_001, sizeBytes: 10 },
      t.auth.user,
    );
    expect(res.status).toBe(400);
  });

  it('answers 400 when S3 does not hold a part with the ETag the client gives, and keeps the recording', async () => {
    const rec = await newRecording();
    const bytes = randomBytes(500);
    const etag = await sendPart(rec.id, 1, bytes);
    expect(etag).toBe(md5(bytes));
    const wrong = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1, parts: [{ partNumber: 1, etag: md5(randomBytes(500)) }] },
      t.auth.user,
    );
    expect(wrong.status).toBe(400);
    // The service compares with what ListParts says S3 holds, before any CompleteMultipartUpload.
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe(
      'The ETag of part 1 does not match the stored part.',
    );
    expect(await status(rec.id)).toBe('recording');
    const right = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(right.status).toBe(200);
  });
});

describe('multipart uploads are not left open', () => {
  it('aborts the upload when an unfinished recording is deleted', async () => {
    const rec = await newRecording();
    await sendPart(rec.id, 1, randomBytes(2000));
    expect(await s3.openUploads()).toContain(rec.uploadId);
    const res = await t.app.request(`/api/recordings/${rec.id}`, { method: 'DELETE', headers: t.auth.user });
    expect(res.status).toBe(204);
    expect(await s3.openUploads()).not.toContain(rec.uploadId);
  });

  it('aborts the upload when a recording fails', async () => {
    const rec = await newRecording();
    await sendPart(rec.id, 1, randomBytes(2000));
    expect(await s3.openUploads()).toContain(rec.uploadId);
    const res = await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'camera unplugged' }, t.auth.user);
    expect(res.status).toBe(200);
    expect(await s3.openUploads()).not.toContain(rec.uploadId);
    // A part URL issued before the failure can no longer reopen it.
    expect(
      (await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 2, sizeBytes: 10 }, t.auth.user)).status,
    ).toBe(409);
  });

  it('refuses parts for an aborted upload at the S3 server', async () => {
    const rec = await newRecording();
    const r = await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.user);
    const { url } = (await r.json()) as { url: string };
    await t.app.request(`/api/recordings/${rec.id}`, { method: 'DELETE', headers: t.auth.user });
    const res = await fetch(url, { method: 'PUT', body: randomBytes(10) });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('<Code>NoSuchUpload</Code>');
    expect(await s3.openUploads()).not.toContain(rec.uploadId);
  });

  it('completes the upload of a ready recording, and deleting it removes the object', async () => {
    const rec = await newRecording();
    const etag = await sendPart(rec.id, 1, randomBytes(700));
    expect(
      (
        await t.json(
          'POST',
          `/api/recordings/${rec.id}/complete`,
          { durationMs: 1, parts: [{ partNumber: 1, etag }] },
          t.auth.user,
        )
      ).status,
    ).toBe(200);
    expect(await s3.openUploads()).not.toContain(rec.uploadId);
    expect(await t.storage.stat(rec.key)).toEqual({ sizeBytes: 700 });
    expect((await t.app.request(`/api/recordings/${rec.id}`, { method: 'DELETE', headers: t.auth.user })).status).toBe(
      204,
    );
    expect(await t.storage.stat(rec.key)).toBeNull();
  });
});

describe('readiness and the service-side part route on S3', () => {
  it('is ready when the bucket answers, and not when it does not exist', async () => {
    const ok = await t.app.request('/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ checks: { storage: 'ok' } });
    const other = await testApp({
      env: { ...s3Env(s3, 'x/'), SORTIE_RECORDING_S3_BUCKET: 'no-such-bucket' },
      database: t.database,
    });
    try {
      const res = await other.app.request('/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ checks: { storage: 'unavailable' } });
    } finally {
      await other.close();
    }
  });

  it('never takes part bytes itself: no part receiver, so the service has no PUT route for it', async () => {
    const storage: RecordingStorage = new S3Storage({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      prefix: 'x/',
    });
    expect(storage.receiver).toBeUndefined();
  });
});
