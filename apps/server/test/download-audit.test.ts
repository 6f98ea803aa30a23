/**
 * Issue 10, item 3: an administrator's download of someone else's recording is
 * audited unless it is a continuation (one satisfiable range that starts after
 * byte 0). A Range that still yields the whole file, or its start, is a
 * download: bytes=-<more than the size>, bytes=1-0 (invalid → whole file), a
 * multi-range (whole file), "bytes= 1-" (not a range we parse → whole file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRecording, type Made } from './admin-fixtures.js';
import { testApp, type TestApp } from './helpers.js';
import { isContinuation } from '../src/recordings/routes.js';

let t: TestApp;
let rec: Made;
beforeAll(async () => {
  t = await testApp();
  rec = await makeRecording(t, 'ready', { who: 'user', sessionId: 'audit-range' });
});
afterAll(async () => {
  await t?.close();
});

async function downloadsAudited(): Promise<number> {
  const res = await t.json(
    'GET',
    `/api/admin/audit?action=recording.download&recordingId=${rec.id}&limit=200`,
    undefined,
    t.auth.admin,
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: unknown[] }).items.length;
}

/** The admin's GET /download with this Range; the S3 backend answers 302 to the bucket (the audit is taken before). */
async function adminGet(range: string | null): Promise<number> {
  const headers: Record<string, string> = { ...t.auth.admin, ...(range === null ? {} : { range }) };
  const res = await t.app.request(`/api/recordings/${rec.id}/download`, { headers });
  await res.body?.cancel();
  return res.status;
}

describe('GET /download by an admin: the audit decides from the parsed range', () => {
  const AUDITED = [
    null,
    'bytes=0-',
    'bytes=0-99',
    'bytes=-100000000',
    'bytes=-3000',
    'bytes=1-0',
    'bytes=0-1,5-9',
    'bytes=100-199,0-9',
    'bytes= 1-',
    'bytes=1-2, 3-4',
    'items=1-2',
  ];
  for (const range of AUDITED) {
    it(`Range ${range === null ? '(none)' : JSON.stringify(range)} is audited as a download`, async () => {
      const before = await downloadsAudited();
      expect([200, 206, 302]).toContain(await adminGet(range));
      expect(await downloadsAudited()).toBe(before + 1);
    });
  }

  for (const range of ['bytes=100-', 'bytes=1-99', 'bytes=-100', 'bytes=2999-']) {
    it(`Range ${JSON.stringify(range)} (a continuation) is not audited again`, async () => {
      const before = await downloadsAudited();
      expect([206, 302]).toContain(await adminGet(range));
      expect(await downloadsAudited()).toBe(before);
    });
  }

  it("the owner's own downloads are never audited, whatever the range", async () => {
    const before = await downloadsAudited();
    for (const range of [undefined, 'bytes=-100000000', 'bytes=1-0']) {
      const res = await t.app.request(`/api/recordings/${rec.id}/download`, {
        headers: { ...t.auth.user, ...(range ? { range } : {}) },
      });
      await res.body?.cancel();
    }
    expect(await downloadsAudited()).toBe(before);
  });

  it('isContinuation: only a single satisfiable range starting after byte 0', () => {
    expect(isContinuation('bytes=1-', 10)).toBe(true);
    expect(isContinuation('bytes=-9', 10)).toBe(true);
    expect(isContinuation('bytes=-10', 10)).toBe(false);
    expect(isContinuation('bytes=-11', 10)).toBe(false);
    expect(isContinuation('bytes=1-0', 10)).toBe(false);
    expect(isContinuation('bytes=1-2,4-5', 10)).toBe(false);
    expect(isContinuation(undefined, 10)).toBe(false);
    // Past the end: nothing is served (416), and it is no continuation either.
    expect(isContinuation('bytes=10-', 10)).toBe(false);
  });
});

describe('GET /api/files/:token (a signed download URL)', () => {
  it('is audited once, when an admin is issued the URL; fetching it does not add entries', async () => {
    const countUrl = async () => {
      const res = await t.json(
        'GET',
        `/api/admin/audit?action=recording.download_url&recordingId=${rec.id}`,
        undefined,
        t.auth.admin,
      );
      return ((await res.json()) as { items: unknown[] }).items.length;
    };
    const before = await countUrl();
    const downloadsBefore = await downloadsAudited();
    const res = await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.admin);
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    expect(await countUrl()).toBe(before + 1);
    const file = await t.send(url);
    expect(file.status).toBe(200);
    await file.body?.cancel();
    expect(await countUrl()).toBe(before + 1);
    expect(await downloadsAudited()).toBe(downloadsBefore);
  });
});
