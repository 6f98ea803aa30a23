/**
 * A tab that goes away ends its recording with a beacon: the end
 * URL handed out at create needs no bearer token, is good for that one
 * recording only, and the service finalizes what is stored within seconds,
 * after the last part in flight has landed. Also how every recording records
 * how it ended (endedBy). Runs on the local and the S3 backend.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEACON_QUIET_MS } from '../src/jobs/sweeper.js';
import { testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  t?.service.jobs.sweeper.stopPending();
  await t?.close();
});

interface Rec {
  id: string;
  status: string;
  sizeBytes: number;
  endedBy: string | null;
  endUrl?: string;
}

async function create(headers = t.auth.user): Promise<Rec & { endUrl: string }> {
  const r = await t.json(
    'POST',
    '/api/recordings',
    { sessionId: 'beacon', mimeType: 'video/webm;codecs=vp9' },
    headers,
  );
  expect(r.status).toBe(201);
  return (await r.json()) as Rec & { endUrl: string };
}

async function sendPart(id: string, partNumber: number, bytes: Buffer): Promise<string> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.send(url, { method: 'PUT', headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

async function get(id: string): Promise<Rec> {
  return (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as Rec;
}

async function waitForStatus(id: string, status: string, timeoutMs = 30_000): Promise<Rec> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rec = await get(id);
    if (rec.status === status) return rec;
    if (Date.now() > until) throw new Error(`recording is ${rec.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POSTs to an end URL the way navigator.sendBeacon does: a text body, no Authorization. */
async function beacon(endUrl: string): Promise<Response> {
  return t.send(new URL(endUrl).pathname, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    body: 'end',
  });
}

describe('ending a recording by beacon', () => {
  it('hands out an end URL at create, on this service, for that recording only', async () => {
    const rec = await create();
    expect(rec.endUrl).toMatch(/\/api\/ends\/[^/]+$/);
    expect(rec.endedBy).toBeNull();
    const other = await create();
    expect(other.endUrl).not.toBe(rec.endUrl);
  });

  it('finalizes what is stored within seconds, as endedBy beacon, without a bearer token', async () => {
    const rec = await create();
    const bytes = randomBytes(4000);
    await sendPart(rec.id, 1, bytes);
    const r = await beacon(rec.endUrl);
    expect(r.status).toBe(202);
    const ready = await waitForStatus(rec.id, 'ready');
    expect(ready).toMatchObject({ sizeBytes: 4000, endedBy: 'beacon' });
    const dl = await t.json('GET', `/api/recordings/${rec.id}/download`, undefined, t.auth.user);
    const got =
      dl.status === 302
        ? Buffer.from(await (await fetch(dl.headers.get('location')!)).arrayBuffer())
        : Buffer.from(await dl.arrayBuffer());
    expect(got.equals(bytes)).toBe(true);
  });

  it('waits for a part that lands after the beacon (the page’s last part in flight)', async () => {
    const rec = await create();
    // Every part but the last at least the backend's minimum (S3: 5 MiB).
    const first = randomBytes(Math.max(t.storage.minPartSizeBytes, 3000));
    const last = randomBytes(2000);
    await sendPart(rec.id, 1, first);
    expect((await beacon(rec.endUrl)).status).toBe(202);
    // The last part lands within the quiet time: it is part of the recording.
    await new Promise((r) => setTimeout(r, BEACON_QUIET_MS / 4));
    const late = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 2, sizeBytes: last.length },
      t.auth.user,
    );
    expect(late.status).toBe(200);
    const { url, headers } = (await late.json()) as { url: string; headers: Record<string, string> };
    expect((await t.send(url, { method: 'PUT', headers, body: last })).status).toBe(200);
    const ready = await waitForStatus(rec.id, 'ready');
    expect(ready).toMatchObject({ sizeBytes: first.length + last.length, endedBy: 'beacon' });
  });

  it('fails a recording that stored nothing, and says why', async () => {
    const rec = await create();
    expect((await beacon(rec.endUrl)).status).toBe(202);
    const failed = await waitForStatus(rec.id, 'failed');
    expect(failed.endedBy).toBe('failed');
  });

  it('is harmless twice, and after the client completed the recording itself', async () => {
    const rec = await create();
    const etag = await sendPart(rec.id, 1, randomBytes(100));
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    expect(((await done.json()) as Rec).endedBy).toBe('stop');
    expect((await beacon(rec.endUrl)).status).toBe(202);
    expect((await beacon(rec.endUrl)).status).toBe(202);
    expect(await get(rec.id)).toMatchObject({ status: 'ready', endedBy: 'stop' });
  });

  it('lets a client that comes back complete it (the same ready recording)', async () => {
    const rec = await create();
    const etag = await sendPart(rec.id, 1, randomBytes(100));
    expect((await beacon(rec.endUrl)).status).toBe(202);
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ status: 'ready', sizeBytes: 100 });
  });

  it('refuses a forged end URL, and a download URL used as one (401)', async () => {
    const rec = await create();
    expect((await t.send('/api/ends/not-a-token', { method: 'POST', body: 'x' })).status).toBe(401);
    const token = rec.endUrl.split('/').pop()!;
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect((await t.send(`/api/ends/${tampered}`, { method: 'POST', body: 'x' })).status).toBe(401);
    const etag = await sendPart(rec.id, 1, randomBytes(100));
    await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    const dl = await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.user);
    const fileUrl = ((await dl.json()) as { url: string }).url;
    if (fileUrl.includes('/api/files/')) {
      expect((await t.send(`/api/ends/${fileUrl.split('/').pop()}`, { method: 'POST', body: 'x' })).status).toBe(401);
    }
  });
});

describe('endedBy', () => {
  it('says failed for a recording the client failed', async () => {
    const rec = await create();
    const r = await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'camera unplugged' }, t.auth.user);
    expect(((await r.json()) as Rec).endedBy).toBe('failed');
  });
});
