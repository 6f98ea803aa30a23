/**
 * Fixtures for the admin, retention and sweeper tests: recordings brought to a
 * given state through the real routes (create, parts, PUT, stop, complete, fail).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './helpers.js';

export type Who = 'user' | 'other' | 'admin' | 'auditor';

export interface Made {
  id: string;
  status: string;
  storageKey: string;
  bytes: Buffer;
}

export async function createRecording(t: TestApp, who: Who = 'user', sessionId = 'sess-1'): Promise<{ id: string }> {
  const r = await t.json('POST', '/api/recordings', { sessionId, mimeType: 'video/webm;codecs=vp9' }, t.auth[who]);
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string };
}

/** Requests part `n` and PUTs `bytes` to the URL; returns the ETag. */
export async function uploadPart(
  t: TestApp,
  id: string,
  n: number,
  bytes: Uint8Array,
  who: Who = 'user',
): Promise<string> {
  const r = await t.json(
    'POST',
    `/api/recordings/${id}/parts`,
    { partNumber: n, sizeBytes: bytes.length },
    t.auth[who],
  );
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  // Local URLs point at the service, S3 ones at the bucket.
  const put = await t.send(url, { method: 'PUT', headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

/**
 * A recording in `status`, owned by `who`, holding one part per entry of
 * `partSizes` (default one part of 3000 random bytes: the last part may be
 * short on every backend, so one part keeps the S3 runs small).
 */
export async function makeRecording(
  t: TestApp,
  status: 'recording' | 'uploading' | 'ready' | 'failed',
  opts: { who?: Who; sessionId?: string; partSizes?: number[] } = {},
): Promise<Made> {
  const who = opts.who ?? 'user';
  const { id } = await createRecording(t, who, opts.sessionId);
  const sizes = opts.partSizes ?? [3000];
  const chunks = sizes.map((n) => randomBytes(n));
  const parts: { partNumber: number; etag: string }[] = [];
  for (const [i, chunk] of chunks.entries())
    parts.push({ partNumber: i + 1, etag: await uploadPart(t, id, i + 1, chunk, who) });
  const bytes = Buffer.concat(chunks);
  if (status === 'uploading')
    expect((await t.json('POST', `/api/recordings/${id}/stop`, undefined, t.auth[who])).status).toBe(200);
  if (status === 'ready') {
    const r = await t.json('POST', `/api/recordings/${id}/complete`, { durationMs: 1000, parts }, t.auth[who]);
    expect(r.status).toBe(200);
  }
  if (status === 'failed')
    expect((await t.json('POST', `/api/recordings/${id}/fail`, { reason: 'test' }, t.auth[who])).status).toBe(200);
  const row = await t.service.recordings.rowById(id);
  expect(row?.status).toBe(status);
  return { id, status, storageKey: row!.storageKey, bytes };
}

/** Log lines at level error: a job that "logs no error" leaves none. */
export function errorLines(t: TestApp): Record<string, unknown>[] {
  return t.logger.lines.filter((l) => l.level === 'error');
}

/** GET /download as `who`, following the S3 backend's redirect to a presigned URL. */
export async function download(t: TestApp, id: string, headers: Record<string, string>): Promise<Response> {
  const res = await t.app.request(`/api/recordings/${id}/download`, { headers });
  if (res.status === 302) return t.send(res.headers.get('location')!);
  return res;
}

/** A full part for this backend: every part but the last must be at least its minimum (S3: 5 MiB). */
export function fullPartSize(t: TestApp, atLeast = 1500): number {
  return Math.max(t.storage.minPartSizeBytes, atLeast);
}
