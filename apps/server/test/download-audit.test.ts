/**
 * Every read of someone else's recording by an admin is audited — each download request whatever its Range
 * (bytes=1- is the whole file but one byte), each download URL, the thumbnails — coalesced per admin,
 * recording and action to one entry per 10 minutes (audit/service.ts READ_AUDIT_WINDOW_MS), so seeking in the
 * player does not flood the trail. The coalescing is decided in the database: two replicas sharing it write
 * one entry between them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRecording, type Made } from './admin-fixtures.js';
import { fakeClock, testApp, token, type TestApp } from './helpers.js';

const clock = fakeClock(new Date());
const MINUTE = 60_000;
let t: TestApp;
let replica: TestApp;
let admin2: Record<string, string>;
beforeAll(async () => {
  t = await testApp({ clock });
  // A second replica: its own app and storage client, the same database and storage.
  replica = await testApp({ clock, database: t.database, env: t.env });
  admin2 = { authorization: `Bearer ${await token({ sub: 'admin-2', name: 'Second Admin', role: 'admin' })}` };
});
afterAll(async () => {
  await replica?.close({ keepStorage: true });
  await t?.close();
});

async function audited(action: string, recordingId: string, actorId?: string): Promise<number> {
  const q = `action=${action}&recordingId=${recordingId}&limit=200${actorId ? `&actorId=${actorId}` : ''}`;
  const res = await t.json('GET', `/api/admin/audit?${q}`, undefined, t.auth.admin);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: unknown[] }).items.length;
}

/** GET /download with this Range; the S3 backend answers 302 to the bucket (the audit is taken before). */
async function get(
  rec: Made,
  range: string | null,
  headers: Record<string, string> = t.auth.admin,
  app: TestApp = t,
): Promise<number> {
  const res = await app.app.request(`/api/recordings/${rec.id}/download`, {
    headers: { ...headers, ...(range === null ? {} : { range }) },
  });
  await res.body?.cancel();
  return res.status;
}

describe("an admin reading someone else's recording", () => {
  it('Range bytes=1- (all but the first byte) as the first read is audited as a download', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user', partSizes: [5000] });
    expect([206, 302]).toContain(await get(rec, 'bytes=1-'));
    expect(await audited('recording.download', rec.id)).toBe(1);
  });

  it('every kind of read within 10 minutes is one entry; the next window starts another', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    for (const range of [null, 'bytes=100-', 'bytes=0-99', 'bytes=-100', 'bytes=1-0', 'bytes=0-1,5-9', 'items=1-2'])
      expect([200, 206, 302]).toContain(await get(rec, range));
    expect(await audited('recording.download', rec.id)).toBe(1);
    clock.advance(9 * MINUTE);
    expect([206, 302]).toContain(await get(rec, 'bytes=2000-'));
    expect(await audited('recording.download', rec.id)).toBe(1);
    clock.advance(2 * MINUTE);
    expect([206, 302]).toContain(await get(rec, 'bytes=2000-'));
    expect(await audited('recording.download', rec.id)).toBe(2);
  });

  it('coalesced per admin: a second admin reading in the same window gets an entry of their own', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    expect([206, 302]).toContain(await get(rec, 'bytes=10-'));
    expect([206, 302]).toContain(await get(rec, 'bytes=10-', admin2));
    expect([206, 302]).toContain(await get(rec, 'bytes=20-', admin2));
    expect(await audited('recording.download', rec.id, 'admin-1')).toBe(1);
    expect(await audited('recording.download', rec.id, 'admin-2')).toBe(1);
  });

  it('30 concurrent range reads spread over two replicas write one entry', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(rec, `bytes=${i * 50}-`, t.auth.admin, i % 2 ? replica : t)),
    );
    for (const s of statuses) expect([206, 302]).toContain(s);
    expect(await audited('recording.download', rec.id)).toBe(1);
  });

  it('download URLs: audited as recording.download_url, coalesced the same way; fetching the URL adds nothing', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    const ask = async () => {
      const res = await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.admin);
      expect(res.status).toBe(200);
      return ((await res.json()) as { url: string }).url;
    };
    const url = await ask();
    await ask();
    expect(await audited('recording.download_url', rec.id)).toBe(1);
    const file = await t.send(url, { headers: { range: 'bytes=1-' } });
    expect([200, 206]).toContain(file.status);
    await file.body?.cancel();
    expect(await audited('recording.download_url', rec.id)).toBe(1);
    expect(await audited('recording.download', rec.id)).toBe(0);
    clock.advance(11 * MINUTE);
    await ask();
    expect(await audited('recording.download_url', rec.id)).toBe(2);
  });

  it('thumbnails (pictures of the recording): the index and each thumbnail are audited as recording.thumbnails, coalesced', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(500)]);
    const put = await t.app.request(`/api/recordings/${rec.id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(put.status).toBe(204);
    const index = await t.json('GET', `/api/recordings/${rec.id}/thumbnails`, undefined, t.auth.admin);
    expect(index.status).toBe(200);
    expect(await audited('recording.thumbnails', rec.id)).toBe(1);
    const one = await t.app.request(`/api/recordings/${rec.id}/thumbnails/0`, { headers: t.auth.admin });
    expect(one.status).toBe(200);
    await one.body?.cancel();
    expect(await audited('recording.thumbnails', rec.id)).toBe(1);
    clock.advance(11 * MINUTE);
    const again = await t.app.request(`/api/recordings/${rec.id}/thumbnails/0`, { headers: t.auth.admin });
    expect(again.status).toBe(200);
    await again.body?.cancel();
    expect(await audited('recording.thumbnails', rec.id)).toBe(2);
  });

  it("the owner's own reads are never audited", async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user' });
    for (const range of [null, 'bytes=1-', 'bytes=-100000000'])
      expect([200, 206, 302]).toContain(await get(rec, range, t.auth.user));
    expect((await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.user)).status).toBe(200);
    expect((await t.json('GET', `/api/recordings/${rec.id}/thumbnails`, undefined, t.auth.user)).status).toBe(200);
    for (const action of ['recording.download', 'recording.download_url', 'recording.thumbnails'])
      expect(await audited(action, rec.id)).toBe(0);
  });
});
