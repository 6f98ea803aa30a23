/**
 * The presigned URLs of the S3 backend, end to end against the loopback S3
 * server, which checks SigV4 itself: what it accepts, what it refuses, and
 * what the URLs carry (one URL per part, signed length, expiry, no empty-body
 * checksum), and the download redirect.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PART_URL_TTL_SECONDS } from '../src/recordings/service.js';
import { S3Storage } from '../src/storage/s3.js';
import { testApp, type TestApp } from './helpers.js';
import { s3Env, sharedS3Server, type S3TestServer } from './s3-server.js';

let t: TestApp;
let s3: S3TestServer;
let prefix: string;
beforeAll(async () => {
  s3 = await sharedS3Server();
  prefix = `urls-${randomUUID()}/`;
  t = await testApp({ env: s3Env(s3, prefix) });
});
afterAll(async () => {
  await t?.close();
});

const md5 = (b: Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;

async function newRecording(): Promise<{ id: string; uploadId: string; key: string }> {
  const r = await t.json(
    'POST',
    '/api/recordings',
    { sessionId: 'sess-urls', mimeType: 'video/webm;codecs=vp9' },
    t.auth.user,
  );
  expect(r.status).toBe(201);
  const { id } = (await r.json()) as { id: string };
  const row = (await t.service.recordings.rowById(id))!;
  return { id, uploadId: row.uploadId!, key: row.storageKey };
}

async function partUrl(id: string, partNumber: number, sizeBytes: number) {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes }, t.auth.user);
  expect(r.status).toBe(200);
  return (await r.json()) as { url: string; headers: Record<string, string>; expiresAt: string; method: string };
}

const put = (url: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'PUT', headers, body });

describe('presigned part URLs (S3)', () => {
  it('point at the bucket, under the prefix, and are accepted as issued', async () => {
    const rec = await newRecording();
    const bytes = randomBytes(1000);
    const part = await partUrl(rec.id, 1, bytes.length);
    const u = new URL(part.url);
    expect(u.origin).toBe(s3.endpoint);
    expect(decodeURIComponent(u.pathname)).toBe(`/${s3.bucket}/${prefix}${rec.key}`);
    expect(u.searchParams.get('uploadId')).toBe(rec.uploadId);
    expect(u.searchParams.get('partNumber')).toBe('1');
    const res = await put(part.url, bytes, part.headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(md5(bytes));
  });

  it('come one per part: no parts URL (a local-backend extension) in the create or the /parts answer', async () => {
    const r = await t.json('POST', '/api/recordings', { sessionId: 'sess-urls', mimeType: 'video/webm' }, t.auth.user);
    const created = (await r.json()) as { id: string; partsUrl?: unknown };
    expect(created.partsUrl).toBeUndefined();
    const part = (await partUrl(created.id, 1, 5 * 1024 * 1024)) as { partsUrl?: unknown };
    expect(part.partsUrl).toBeUndefined();
  });

  it('are refused by the S3 server when the signature is tampered with', async () => {
    const rec = await newRecording();
    const bytes = randomBytes(1000);
    const u = new URL((await partUrl(rec.id, 1, bytes.length)).url);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    u.searchParams.set('X-Amz-Signature', `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);
    const res = await put(u.toString(), bytes);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await t.storage.listParts({ key: rec.key, uploadId: rec.uploadId })).toEqual([]);
  });

  it('are refused by the S3 server for a body shorter or longer than the signed length', async () => {
    const rec = await newRecording();
    const part = await partUrl(rec.id, 1, 1000);
    for (const size of [999, 1001]) {
      const res = await put(part.url, randomBytes(size), part.headers);
      expect(res.status, `body of ${size} bytes`).toBe(403);
      expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    }
    expect(await t.storage.listParts({ key: rec.key, uploadId: rec.uploadId })).toEqual([]);
    // The same URL with the length it was signed for goes through.
    expect((await put(part.url, randomBytes(1000), part.headers)).status).toBe(200);
  });

  it('are refused by the S3 server once expired', async () => {
    const rec = await newRecording();
    const bytes = randomBytes(500);
    const at = (msAgo: number) =>
      new S3Storage({
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        prefix,
        clock: { now: () => new Date(Date.now() - msAgo) },
      });
    const args = {
      key: rec.key,
      uploadId: rec.uploadId,
      partNumber: 1,
      sizeBytes: bytes.length,
      expiresInSeconds: PART_URL_TTL_SECONDS,
    };
    // Signed one minute longer ago than the URL lives.
    const expired = (await at((PART_URL_TTL_SECONDS + 60) * 1000).presignPart(args))!;
    const res = await put(expired.url, bytes, expired.headers);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/<Code>AccessDenied<\/Code>\s*<Message>Request has expired<\/Message>/);
    // Signed one minute before the end of its life, it still works.
    const fresh = (await at((PART_URL_TTL_SECONDS - 60) * 1000).presignPart(args))!;
    expect((await put(fresh.url, bytes, fresh.headers)).status).toBe(200);
  });

  it('carry no checksum of an empty body, sign Content-Length and live 15 minutes', async () => {
    const rec = await newRecording();
    const part = await partUrl(rec.id, 1, 4321);
    const u = new URL(part.url);
    const names = [...u.searchParams.keys()].map((k) => k.toLowerCase());
    expect(names.filter((k) => k.startsWith('x-amz-checksum') || k === 'x-amz-sdk-checksum-algorithm')).toEqual([]);
    expect(Object.keys(part.headers).filter((h) => h.toLowerCase().startsWith('x-amz-'))).toEqual([]);
    expect(u.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(
      expect.arrayContaining(['content-length', 'host']),
    );
    expect(u.searchParams.get('X-Amz-Expires')).toBe(String(PART_URL_TTL_SECONDS));
    expect(Date.parse(part.expiresAt) - Date.now()).toBeGreaterThan((PART_URL_TTL_SECONDS - 60) * 1000);
  });

  it('would carry that checksum with the SDK defaults (why the backend turns them off)', async () => {
    // The same presign with a client left at its defaults: this is the URL real S3 rejects.
    const client = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true });
    const url = await getSignedUrl(
      client,
      new UploadPartCommand({
        Bucket: s3.bucket,
        Key: `${prefix}x.webm`,
        UploadId: 'u',
        PartNumber: 1,
        ContentLength: 10,
      }),
      {
        expiresIn: 60,
      },
    );
    const names = [...new URL(url).searchParams.keys()].map((k) => k.toLowerCase());
    expect(names.some((k) => k.startsWith('x-amz-checksum') || k === 'x-amz-sdk-checksum-algorithm')).toBe(true);
  });
});

describe('downloads (S3)', () => {
  async function readyRecording(): Promise<{ id: string; bytes: Buffer }> {
    const rec = await newRecording();
    const bytes = randomBytes(3000);
    const part = await partUrl(rec.id, 1, bytes.length);
    const etag = (await put(part.url, bytes, part.headers)).headers.get('etag')!;
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 10, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    return { id: rec.id, bytes };
  }

  it('redirects to a presigned GET that serves the bytes with a file name', async () => {
    const { id, bytes } = await readyRecording();
    const res = await t.app.request(`/api/recordings/${id}/download`, { headers: t.auth.user });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(new URL(location).origin).toBe(s3.endpoint);
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="recording-sess-urls-.+\.webm"$/);
    expect(file.headers.get('content-type')).toBe('video/webm');
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers download-url with a presigned GET, and an admin may have one too', async () => {
    const { id, bytes } = await readyRecording();
    for (const who of [t.auth.user, t.auth.admin]) {
      const res = await t.json('POST', `/api/recordings/${id}/download-url`, undefined, who);
      expect(res.status).toBe(200);
      const { url } = (await res.json()) as { url: string };
      expect(new URL(url).origin).toBe(s3.endpoint);
      const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    }
  });

  it('refuses a tampered download URL', async () => {
    const { id } = await readyRecording();
    const res = await t.json('POST', `/api/recordings/${id}/download-url`, undefined, t.auth.user);
    const u = new URL(((await res.json()) as { url: string }).url);
    u.searchParams.set('response-content-disposition', 'attachment; filename="other.exe"');
    expect((await fetch(u)).status).toBe(403);
  });
});
