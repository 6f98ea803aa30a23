/**
 * Legal hold (PUT /api/admin/recordings/:id/hold): a held recording survives every delete (the owner's, an
 * admin's, a bulk delete, retention past its age) with its bytes whole, until an admin releases it; hold and
 * release are audited with their reason; the admin list filters on it.
 */
import type { AuditEntry, BulkDeleteResult, Recording, RecordingPage } from '@sortie/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, makeRecording, type Made } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const REASON = 'Litigation hold: case 2026-CV-0001';

describe('legal hold', () => {
  // The clock starts at the real time (part URLs' expiry is checked against it) and only moves forward.
  const clock = fakeClock();
  const t0 = clock.now().getTime();
  let t: TestApp;
  let held: Made;
  let free: Made;

  const hold = (id: string, body: unknown, who: 'user' | 'other' | 'admin' = 'admin') =>
    t.json('PUT', `/api/admin/recordings/${id}/hold`, body, t.auth[who]);

  const expectOnHold = async (res: Response) => {
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('conflict');
    expect(body.error.message).toMatch(/legal hold/);
  };

  const expectWhole = async (r: Made) => {
    const row = await t.service.recordings.rowById(r.id);
    expect(row?.heldAt).not.toBeNull();
    const res = await download(t, r.id, t.auth.admin);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(r.bytes)).toBe(true);
  };

  const auditOf = async (action: string, recordingId: string) => {
    const res = await t.app.request(`/api/admin/audit?action=${action}&recordingId=${recordingId}`, {
      headers: t.auth.admin,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: AuditEntry[] }).items;
  };

  beforeAll(async () => {
    t = await testApp({ clock, env: { SORTIE_RECORDING_RETENTION_DAYS: '30' } });
    held = await makeRecording(t, 'ready', { sessionId: 'sess-held' });
    free = await makeRecording(t, 'ready', { sessionId: 'sess-free' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('places a hold: 200 with the recording and its hold, audited with the reason', async () => {
    const res = await hold(held.id, { hold: true, reason: REASON });
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Recording;
    expect(rec.id).toBe(held.id);
    expect(rec.hold).toEqual({ reason: REASON, heldAt: new Date(t0).toISOString(), heldBy: 'admin-1' });
    // The owner sees it too.
    const own = await t.app.request(`/api/recordings/${held.id}`, { headers: t.auth.user });
    expect(((await own.json()) as Recording).hold?.reason).toBe(REASON);
    const entries = await auditOf('recording.hold', held.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actorId: 'admin-1',
      action: 'recording.hold',
      recordingId: held.id,
      details: { userId: 'u-1', sessionId: 'sess-held', reason: REASON },
    });
  });

  it('a recording not held has hold null', async () => {
    const res = await t.app.request(`/api/recordings/${free.id}`, { headers: t.auth.user });
    expect(((await res.json()) as Recording).hold).toBeNull();
  });

  it("refuses the owner's delete with 409 and keeps the recording whole", async () => {
    await expectOnHold(await t.json('DELETE', `/api/recordings/${held.id}`, undefined, t.auth.user));
    await expectWhole(held);
  });

  it("refuses an admin's delete with 409 and keeps the recording whole", async () => {
    await expectOnHold(await t.json('DELETE', `/api/recordings/${held.id}`, undefined, t.auth.admin));
    await expectWhole(held);
    expect(await auditOf('recording.delete', held.id)).toHaveLength(0);
  });

  it('a bulk delete reports the held id as failed and deletes the others', async () => {
    const other = await makeRecording(t, 'ready', { sessionId: 'sess-bulk' });
    const res = await t.json('POST', '/api/admin/recordings/delete', { ids: [held.id, other.id] }, t.auth.admin);
    expect(res.status).toBe(200);
    const body = (await res.json()) as BulkDeleteResult;
    expect(body.deleted).toBe(1);
    expect(body.results[0]).toMatchObject({ id: held.id, status: 'failed' });
    expect(body.results[0]!.message).toMatch(/legal hold/);
    expect(body.results[1]).toEqual({ id: other.id, status: 'deleted' });
    await expectWhole(held);
  });

  it('retention past its age skips the held recording and deletes the one not held', async () => {
    clock.set(new Date(t0 + 31 * DAY));
    const res = await t.json('POST', '/api/admin/retention/run', undefined, t.auth.admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 1 });
    expect(await t.service.recordings.rowById(free.id)).toBeNull();
    await expectWhole(held);
    // Not an error to be retried either: retention logs none.
    expect(t.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('filters the admin list by held', async () => {
    const young = await makeRecording(t, 'ready', { sessionId: 'sess-young' });
    const list = async (q: string) => {
      const res = await t.app.request(`/api/admin/recordings${q}`, { headers: t.auth.admin });
      expect(res.status).toBe(200);
      return ((await res.json()) as RecordingPage).items.map((r) => r.id);
    };
    expect(await list('?held=true')).toEqual([held.id]);
    expect(await list('?held=false')).toEqual([young.id]);
    expect((await list('')).sort()).toEqual([held.id, young.id].sort());
    expect((await t.app.request('/api/admin/recordings?held=yes', { headers: t.auth.admin })).status).toBe(400);
  });

  it('validates the body: 400', async () => {
    for (const body of [
      {},
      { hold: true },
      { hold: true, reason: '' },
      { hold: true, reason: '   ' },
      { hold: true, reason: 'x'.repeat(501) },
      { hold: 'true', reason: REASON },
      { hold: true, reason: 42 },
      { hold: true, reason: REASON, extra: 1 },
    ]) {
      const res = await hold(held.id, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    expect((await hold(held.id, 'not json')).status).toBe(400);
    expect((await hold('not-a-uuid', { hold: true, reason: REASON })).status).toBe(400);
    // 500 characters is the limit, not past it.
    expect((await hold(held.id, { hold: true, reason: 'x'.repeat(500) })).status).toBe(200);
    expect((await hold(held.id, { hold: true, reason: REASON })).status).toBe(200);
  });

  it('404 for an unknown recording', async () => {
    const res = await hold('00000000-0000-4000-8000-000000000000', { hold: true, reason: REASON });
    expect(res.status).toBe(404);
  });

  it('403 for a user who is not an admin, the owner included', async () => {
    for (const who of ['user', 'other'] as const) {
      const res = await hold(held.id, { hold: false, reason: 'not mine to release' }, who);
      expect(res.status, who).toBe(403);
    }
    expect((await t.service.recordings.rowById(held.id))?.heldAt).not.toBeNull();
  });

  it('release, audited with its reason; then the owner can delete it', async () => {
    const res = await hold(held.id, { hold: false, reason: 'Case closed' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Recording).hold).toBeNull();
    const entries = await auditOf('recording.release', held.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actorId: 'admin-1',
      details: { userId: 'u-1', sessionId: 'sess-held', reason: 'Case closed' },
    });
    // Releasing what is not held changes nothing and is not audited again.
    expect((await hold(held.id, { hold: false })).status).toBe(200);
    expect(await auditOf('recording.release', held.id)).toHaveLength(1);

    const del = await t.json('DELETE', `/api/recordings/${held.id}`, undefined, t.auth.user);
    expect(del.status).toBe(204);
    expect(await t.service.recordings.rowById(held.id)).toBeNull();
    expect(await t.storage.stat(held.storageKey)).toBeNull();
    // The chain still verifies with the new actions in it.
    const verify = await t.app.request('/api/admin/audit/verify', { headers: t.auth.admin });
    expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
  });
});
