/**
 * The administrator's bulk delete and overview: a bulk delete removes
 * exactly the ids given (rows and stored bytes), audits like a single delete
 * and answers per id; the overview's figures match rows seeded at known times.
 */
import { randomUUID } from 'node:crypto';
import type { AdminOverview, AuditEntry, BulkDeleteResult } from '@sortie/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordings } from '../src/db/schema.js';
import { createStorage } from '../src/storage/index.js';
import { createRecording, download, makeRecording, uploadPart } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

describe('POST /api/admin/recordings/delete', () => {
  let t: TestApp;
  /** Storage keys whose delete the backend refuses (a fault injected for one test). */
  const refuse = new Set<string>();
  beforeAll(async () => {
    t = await testApp({
      makeStorage: async (config, signingKey) => {
        const storage = await createStorage(config, { signingKey });
        const del = storage.delete.bind(storage);
        storage.delete = async (key) => {
          if (refuse.has(key)) throw new Error('injected: storage refused the delete');
          return del(key);
        };
        return storage;
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const bulk = (body: unknown, who: 'admin' | 'user' = 'admin') =>
    t.json('POST', '/api/admin/recordings/delete', body, t.auth[who]);

  it('deletes exactly the recordings named, whoever owns them, answers per id, and audits as a delete does', async () => {
    const mineA = await makeRecording(t, 'ready');
    const mineB = await makeRecording(t, 'ready');
    const failed = await makeRecording(t, 'failed');
    const others = await makeRecording(t, 'ready', { who: 'other' });
    const open = await makeRecording(t, 'recording', { who: 'other' });
    const adminsOwn = await makeRecording(t, 'ready', { who: 'admin' });
    const absent = randomUUID();

    const res = await bulk({ ids: [mineA.id, others.id, absent, open.id, adminsOwn.id] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BulkDeleteResult;
    expect(body.deleted).toBe(4);
    expect(body.results.map((r) => [r.id, r.status])).toEqual([
      [mineA.id, 'deleted'],
      [others.id, 'deleted'],
      [absent, 'not_found'],
      [open.id, 'deleted'],
      [adminsOwn.id, 'deleted'],
    ]);

    for (const gone of [mineA, others, open, adminsOwn]) {
      expect(await t.service.recordings.rowById(gone.id)).toBeNull();
      expect(await t.storage.stat(gone.storageKey)).toBeNull();
    }
    // What was not named is untouched, bytes included.
    for (const kept of [mineB, failed]) expect((await t.service.recordings.rowById(kept.id))?.status).toBe(kept.status);
    const dl = await download(t, mineB.id, t.auth.user);
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(mineB.bytes)).toBe(true);

    // Audited as DELETE /api/recordings/:id is: other people's recordings, not the admin's own.
    const audit = await t.app.request('/api/admin/audit?action=recording.delete&limit=200', { headers: t.auth.admin });
    const entries = ((await audit.json()) as { items: AuditEntry[] }).items;
    const audited = entries.map((e) => e.recordingId).sort();
    expect(audited).toEqual([mineA.id, others.id, open.id].sort());
    const entry = entries.find((e) => e.recordingId === others.id)!;
    expect(entry).toMatchObject({ actorId: 'admin-1', details: { userId: 'u-2', bulk: true } });
  });

  it('a recording storage refuses to delete is kept and reported as failed; the others still go', async () => {
    const stuck = await makeRecording(t, 'ready');
    const fine = await makeRecording(t, 'ready');
    refuse.add(stuck.storageKey);
    try {
      const res = await bulk({ ids: [stuck.id, fine.id] });
      expect(res.status).toBe(200);
      const body = (await res.json()) as BulkDeleteResult;
      expect(body.deleted).toBe(1);
      expect(body.results[0]).toMatchObject({ id: stuck.id, status: 'failed' });
      expect(body.results[0]!.message).toMatch(/kept/);
      expect(body.results[1]).toEqual({ id: fine.id, status: 'deleted' });
    } finally {
      refuse.delete(stuck.storageKey);
    }
    expect((await t.service.recordings.rowById(stuck.id))?.status).toBe('ready');
    expect(await t.service.recordings.rowById(fine.id)).toBeNull();
  });

  it('refuses a bad body with 400 naming the fault, and deletes nothing', async () => {
    const kept = await makeRecording(t, 'ready');
    const cases: [unknown, RegExp][] = [
      [{ ids: [] }, /at least one/],
      [{ ids: [kept.id, kept.id] }, /repeat/],
      // The same UUID in another case is the same recording (it was deleted twice over and counted as 2).
      [{ ids: [kept.id, kept.id.toUpperCase()] }, /repeat/],
      [{ ids: [kept.id, 'not-a-uuid'] }, /UUID/],
      [{ ids: Array.from({ length: 201 }, () => randomUUID()) }, /at most 200/],
      [{ ids: [kept.id], extra: 1 }, /extra|unrecognized/i],
      [{}, /ids/],
      ['not json', /body/i],
    ];
    for (const [body, message] of cases) {
      const res = await bulk(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await t.service.recordings.rowById(kept.id))?.status).toBe('ready');
  });

  it('a user (not an admin) is refused with 403 and nothing is deleted', async () => {
    const kept = await makeRecording(t, 'ready');
    expect((await bulk({ ids: [kept.id] }, 'user')).status).toBe(403);
    expect(await t.service.recordings.rowById(kept.id)).not.toBeNull();
  });

  it('four concurrent bulk deletes of the same 10 ids: each id is deleted, counted and audited exactly once', async () => {
    const made = await Promise.all(Array.from({ length: 10 }, () => makeRecording(t, 'ready', { who: 'other' })));
    const ids = made.map((m) => m.id);
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const res = await bulk({ ids });
        expect(res.status).toBe(200);
        return (await res.json()) as BulkDeleteResult;
      }),
    );
    expect(answers.reduce((n, a) => n + a.deleted, 0)).toBe(10);
    for (const id of ids) {
      const outcomes = answers.map((a) => a.results.find((r) => r.id === id)!.status);
      expect(
        outcomes.filter((s) => s === 'deleted'),
        id,
      ).toHaveLength(1);
      expect(
        outcomes.filter((s) => s === 'not_found'),
        id,
      ).toHaveLength(3);
      expect(await t.service.recordings.rowById(id)).toBeNull();
    }
    const audit = await t.app.request('/api/admin/audit?action=recording.delete&limit=200', { headers: t.auth.admin });
    const audited = ((await audit.json()) as { items: AuditEntry[] }).items
      .map((e) => e.recordingId)
      .filter((id) => ids.includes(id!));
    expect(audited.sort()).toEqual([...ids].sort());
  });

  it('four concurrent DELETEs of one recording: one 204 and one audit entry, the others 404', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'other' });
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () => t.json('DELETE', `/api/recordings/${rec.id}`, undefined, t.auth.admin)),
    ).then((all) => all.map((r) => r.status).sort());
    expect(statuses).toEqual([204, 404, 404, 404]);
    const audit = await t.app.request(`/api/admin/audit?action=recording.delete&recordingId=${rec.id}`, {
      headers: t.auth.admin,
    });
    expect(((await audit.json()) as { items: AuditEntry[] }).items).toHaveLength(1);
  });
});

describe('GET /api/admin/overview', () => {
  let t: TestApp;
  // Noon on 2026-03-10 (UTC): with days=3 the window is 2026-03-08 00:00 to now.
  const now = new Date('2026-03-10T12:00:00.000Z');
  beforeAll(async () => {
    t = await testApp({ clock: fakeClock(now) });
    const row = (
      day: string,
      time: string,
      userId: string,
      status: 'recording' | 'ready' | 'failed',
      sizeBytes: number,
      endedBy: 'stop' | 'beacon' | 'abandoned' | 'failed' | null,
      failureReason: string | null = null,
    ) => {
      const id = randomUUID();
      const at = new Date(`${day}T${time}Z`);
      return {
        id,
        sessionId: 's',
        userId,
        userName: `name of ${userId}`,
        status,
        mimeType: 'video/webm',
        sizeBytes,
        storageKey: `recordings/${id}.webm`,
        createdAt: at,
        updatedAt: at,
        lastActivityAt: at,
        endedBy,
        failureReason,
      };
    };
    await t.database.db.insert(recordings).values([
      // Before the window: counted in storage (held on the first morning) only.
      row('2026-03-01', '10:00:00', 'u-big', 'ready', 5000, 'stop'),
      row('2026-03-07', '23:59:59.999', 'u-1', 'failed', 0, 'failed', 'camera unplugged'),
      // 2026-03-08
      row('2026-03-08', '00:00:00', 'u-1', 'ready', 100, 'stop'),
      row('2026-03-08', '13:00:00', 'u-2', 'ready', 200, 'beacon'),
      row('2026-03-08', '14:00:00', 'u-2', 'failed', 0, 'failed', 'Permission denied'),
      // 2026-03-09: nothing.
      // 2026-03-10
      row('2026-03-10', '09:00:00', 'u-1', 'failed', 0, 'failed', 'Permission denied'),
      row('2026-03-10', '09:30:00', 'u-2', 'failed', 0, 'failed', 'network lost'),
      row('2026-03-10', '10:00:00', 'u-1', 'ready', 1000, 'abandoned'),
      row('2026-03-10', '11:00:00', 'u-2', 'recording', 300, null),
    ]);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function overview(query = ''): Promise<AdminOverview> {
    const res = await t.app.request(`/api/admin/overview${query}`, { headers: t.auth.admin });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as AdminOverview;
  }

  it('storage per day, cumulative from what was held before the window', async () => {
    const o = await overview('?days=3');
    expect(o).toMatchObject({ days: 3, from: '2026-03-08T00:00:00.000Z', to: now.toISOString() });
    expect(o.storage.totalBytes).toBe(6600);
    expect(o.storage.byDay).toEqual([
      { day: '2026-03-08', bytes: 300, cumulativeBytes: 5300 },
      { day: '2026-03-09', bytes: 0, cumulativeBytes: 5300 },
      { day: '2026-03-10', bytes: 1300, cumulativeBytes: 6600 },
    ]);
  });

  it('recordings per day by status, every day of the window, zeros included', async () => {
    const o = await overview('?days=3');
    expect(o.byDay).toEqual([
      { day: '2026-03-08', recording: 0, uploading: 0, ready: 2, failed: 1 },
      { day: '2026-03-09', recording: 0, uploading: 0, ready: 0, failed: 0 },
      { day: '2026-03-10', recording: 1, uploading: 0, ready: 1, failed: 2 },
    ]);
  });

  it('how the window’s recordings ended, the failure rate and the reasons most common first', async () => {
    const o = await overview('?days=3');
    expect(o.endings).toEqual({
      ended: 6,
      failed: 3,
      failureRate: 0.5,
      byEndedBy: { stop: 1, beacon: 1, abandoned: 1, size_limit: 0, failed: 3 },
      topReasons: [
        { reason: 'Permission denied', count: 2 },
        { reason: 'network lost', count: 1 },
      ],
    });
    // A wider window takes in the failure of 2026-03-07.
    expect((await overview('?days=4')).endings.topReasons).toContainEqual({ reason: 'camera unplugged', count: 1 });
  });

  it('the largest users by bytes held, all time', async () => {
    const o = await overview('?days=3');
    expect(o.largestUsers).toEqual([
      { userId: 'u-big', userName: 'name of u-big', recordings: 1, bytes: 5000 },
      { userId: 'u-1', userName: 'name of u-1', recordings: 4, bytes: 1100 },
      { userId: 'u-2', userName: 'name of u-2', recordings: 4, bytes: 500 },
    ]);
  });

  it('days is 1–366, default 30; anything else is a 400', async () => {
    expect((await overview()).days).toBe(30);
    for (const bad of ['0', '367', 'week', '1.5']) {
      const res = await t.app.request(`/api/admin/overview?days=${bad}`, { headers: t.auth.admin });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/days/);
    }
    expect((await t.app.request('/api/admin/overview', { headers: t.auth.user })).status).toBe(403);
  });
});

describe('how a recording ended: size_limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a complete that says endedBy size_limit is recorded so; without it, stop; anything else is a 400', async () => {
    const complete = async (endedBy?: string) => {
      const { id } = await createRecording(t);
      const etag = await uploadPart(t, id, 1, Buffer.alloc(2000, 1));
      const body = { durationMs: 500, parts: [{ partNumber: 1, etag }], ...(endedBy ? { endedBy } : {}) };
      return t.json('POST', `/api/recordings/${id}/complete`, body, t.auth.user);
    };
    const limited = await complete('size_limit');
    expect(limited.status).toBe(200);
    expect(await limited.json()).toMatchObject({ status: 'ready', endedBy: 'size_limit' });
    expect(await (await complete()).json()).toMatchObject({ status: 'ready', endedBy: 'stop' });
    const bad = await complete('beacon');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/endedBy/);
  });
});
