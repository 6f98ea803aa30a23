/**
 * Fixtures for the admin, retention and sweeper tests: recordings brought to a
 * given state through the real routes (create, parts, PUT, stop, complete, fail).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './helpers.js';

export type Who = 'user' | 'other' | 'admin';

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
export async function uploadPart(t: TestApp, id: string, n: number, bytes: Uint8Array, who: Who = 'user'): Promise<string> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: n, sizeBytes: bytes.length }, t.auth[who]);
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.app.request(url, { method: 'PUT', headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

/** A recording in `status`, owned by `who`; ready ones hold `size` random bytes in two parts. */
export async function makeRecording(
  t: TestApp,
  status: 'recording' | 'uploading' | 'ready' | 'failed',
  opts: { who?: Who; sessionId?: string; size?: number } = {},
): Promise<Made> {
  const who = opts.who ?? 'user';
  const { id } = await createRecording(t, who, opts.sessionId);
  const size = opts.size ?? 3000;
  const bytes = randomBytes(size);
  const half = Math.floor(size / 2);
  const e1 = await uploadPart(t, id, 1, bytes.subarray(0, half), who);
  const e2 = await uploadPart(t, id, 2, bytes.subarray(half), who);
  if (status === 'uploading') expect((await t.json('POST', `/api/recordings/${id}/stop`, undefined, t.auth[who])).status).toBe(200);
  if (status === 'ready') {
    const r = await t.json('POST', `/api/recordings/${id}/complete`, { durationMs: 1000, parts: [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }] }, t.auth[who]);
    expect(r.status).toBe(200);
  }
  if (status === 'failed') expect((await t.json('POST', `/api/recordings/${id}/fail`, { reason: 'test' }, t.auth[who])).status).toBe(200);
  const row = await t.service.recordings.rowById(id);
  expect(row?.status).toBe(status);
  return { id, status, storageKey: row!.storageKey, bytes };
}

/** Log lines at level error: a job that "logs no error" leaves none. */
export function errorLines(t: TestApp): Record<string, unknown>[] {
  return t.logger.lines.filter((l) => l.level === 'error');
}
