/**
 * The auditor role (docs/API.md "Roles"): read-only oversight. An auditor lists every recording, plays and
 * downloads it, reads its seal, markers and thumbnails and the audit trail, and each of those reads is an
 * entry of the trail naming them. Every write an administrator makes (delete, bulk delete, hold, settings,
 * retention) and every write into someone else's recording is refused with a 403 that says why. An auditor is
 * also a user: they record their own sessions, and reading their own recordings is no oversight to audit.
 */
import { randomBytes } from 'node:crypto';
import type { AuditEntry, AuditVerification } from '@sortie/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecording, makeRecording, uploadPart, type Made } from './admin-fixtures.js';
import { testApp, token, type TestApp } from './helpers.js';

let t: TestApp;
/** A ready, sealed recording of user u-1 with a marker and a thumbnail. */
let rec: Made;
const AUDITOR = { id: 'auditor-1', name: 'Ida Auditor' };
const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(300)]);

beforeAll(async () => {
  t = await testApp();
  const { id } = await createRecording(t, 'user', 'auditor-shared');
  const etag = await uploadPart(t, id, 1, randomBytes(3000));
  const put = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
    method: 'PUT',
    headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
    body: jpeg(),
  });
  expect(put.status).toBe(204);
  const marker = await t.json(
    'POST',
    `/api/recordings/${id}/markers`,
    { markers: [{ offsetMs: 10, label: 'checkout' }] },
    t.auth.user,
  );
  expect(marker.status).toBe(201);
  const done = await t.json(
    'POST',
    `/api/recordings/${id}/complete`,
    { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
    t.auth.user,
  );
  expect(done.status).toBe(200);
  expect(await t.service.jobs.sealer.run()).toBe(1);
  rec = {
    id,
    status: 'ready',
    storageKey: (await t.service.recordings.rowById(id))!.storageKey,
    bytes: Buffer.alloc(0),
  };
});
afterAll(async () => {
  await t?.close();
});

/** The trail's entries of `action` by `actorId` (read by an admin, whose reads are not themselves entries). */
async function entries(action: string, actorId = AUDITOR.id, recordingId?: string): Promise<AuditEntry[]> {
  const q = `action=${action}&actorId=${actorId}&limit=200${recordingId ? `&recordingId=${recordingId}` : ''}`;
  const res = await t.json('GET', `/api/admin/audit?${q}`, undefined, t.auth.admin);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: AuditEntry[] }).items;
}

async function call(method: string, path: string, body?: unknown, headers = t.auth.auditor) {
  const res =
    body instanceof Uint8Array
      ? await t.app.request(path, { method, headers: { ...headers, 'content-type': 'image/jpeg' }, body })
      : await t.json(method, path, body, headers);
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as { error: { code: string; message: string } } };
}

describe("an auditor's reads are each an entry of the trail naming the auditor", () => {
  const reads: {
    what: string;
    method: string;
    path: string;
    ok: number[];
    action: string;
    onRecording: boolean;
  }[] = [
    {
      what: 'every recording',
      method: 'GET',
      path: '/api/admin/recordings',
      ok: [200],
      action: 'recording.list',
      onRecording: false,
    },
    {
      what: 'a recording',
      method: 'GET',
      path: '/api/recordings/:id',
      ok: [200],
      action: 'recording.view',
      onRecording: true,
    },
    {
      what: 'a download URL',
      method: 'POST',
      path: '/api/recordings/:id/download-url',
      ok: [200],
      action: 'recording.download_url',
      onRecording: true,
    },
    // S3: a redirect to the bucket, the entry written before it.
    {
      what: 'the download',
      method: 'GET',
      path: '/api/recordings/:id/download',
      ok: [200, 302],
      action: 'recording.download',
      onRecording: true,
    },
    {
      what: 'the seal',
      method: 'GET',
      path: '/api/recordings/:id/seal',
      ok: [200],
      action: 'recording.seal',
      onRecording: true,
    },
    {
      what: 'the markers',
      method: 'GET',
      path: '/api/recordings/:id/markers',
      ok: [200],
      action: 'recording.markers',
      onRecording: true,
    },
    {
      what: 'the thumbnails',
      method: 'GET',
      path: '/api/recordings/:id/thumbnails',
      ok: [200],
      action: 'recording.thumbnails',
      onRecording: true,
    },
    {
      what: 'the audit trail',
      method: 'GET',
      path: '/api/admin/audit?limit=5',
      ok: [200],
      action: 'audit.list',
      onRecording: false,
    },
    {
      what: 'the chain check',
      method: 'GET',
      path: '/api/admin/audit/verify',
      ok: [200],
      action: 'audit.verify',
      onRecording: false,
    },
    {
      what: 'the export',
      method: 'GET',
      path: '/api/admin/audit/export',
      ok: [200],
      action: 'audit.export',
      onRecording: false,
    },
  ];

  for (const r of reads) {
    it(`${r.what} (${r.method} ${r.path}): ${r.action}`, async () => {
      const before = (await entries(r.action)).length;
      const res = await call(r.method, r.path.replace(':id', rec.id));
      expect(r.ok).toContain(res.status);
      const after = await entries(r.action);
      expect(after.length).toBe(before + 1);
      expect(after[0]).toMatchObject({
        actorId: AUDITOR.id,
        actorName: AUDITOR.name,
        action: r.action,
        recordingId: r.onRecording ? rec.id : null,
      });
      if (r.onRecording) expect(after[0]!.details).toMatchObject({ userId: 'u-1', sessionId: 'auditor-shared' });
    });
  }

  it('a thumbnail image itself is a thumbnails read too', async () => {
    // Its own recording, so the index read above has not already written the window's entry.
    const { id } = await createRecording(t, 'other', 'auditor-thumb');
    const put = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.other, 'content-type': 'image/jpeg' },
      body: jpeg(),
    });
    expect(put.status).toBe(204);
    expect((await call('GET', `/api/recordings/${id}/thumbnails/0`)).status).toBe(200);
    expect(await entries('recording.thumbnails', AUDITOR.id, id)).toHaveLength(1);
  });

  it("the trail's page an auditor reads holds the entry of that very read", async () => {
    const res = await call('GET', '/api/admin/audit?limit=1');
    expect(res.status).toBe(200);
    const [first] = (JSON.parse(res.text) as { items: AuditEntry[] }).items;
    expect(first).toMatchObject({ actorId: AUDITOR.id, action: 'audit.list', details: { query: { limit: 1 } } });
  });

  it('the list entry keeps what was asked; the chain still holds after every read', async () => {
    expect((await call('GET', '/api/admin/recordings?userId=u-1&status=ready')).status).toBe(200);
    const [latest] = await entries('recording.list');
    expect(latest!.details).toMatchObject({ query: { userId: 'u-1', status: 'ready' } });
    const verify = await t.json('GET', '/api/admin/audit/verify', undefined, t.auth.admin);
    expect(((await verify.json()) as AuditVerification).ok).toBe(true);
  });

  it("the admin page's live-list polls (updatedSince) are one entry in the read window; each search is its own", async () => {
    const before = (await entries('recording.list')).length;
    const since = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 3; i++)
      expect((await call('GET', `/api/admin/recordings?updatedSince=${since}`)).status).toBe(200);
    const afterPolls = await entries('recording.list');
    expect(afterPolls).toHaveLength(before + 1);
    expect(afterPolls[0]!.details).toMatchObject({ query: { updatedSince: since }, poll: true });
    expect((await call('GET', '/api/admin/recordings?status=ready')).status).toBe(200);
    expect((await call('GET', '/api/admin/recordings?status=ready')).status).toBe(200);
    expect((await entries('recording.list')).length).toBe(before + 1 + 2);
  });

  it('the role claim as a single string (`role: "auditor"`) is read like the list form', async () => {
    const single = {
      authorization: `Bearer ${await token({ sub: 'auditor-2', name: 'Solo Auditor', role: 'auditor' })}`,
    };
    expect((await call('GET', `/api/recordings/${rec.id}/seal`, undefined, single)).status).toBe(200);
    expect(await entries('recording.seal', 'auditor-2', rec.id)).toHaveLength(1);
    expect((await call('PUT', '/api/admin/settings', { autoRecord: false }, single)).status).toBe(403);
  });

  it("an admin's reads of metadata, seal and markers stay unaudited, as before the role existed", async () => {
    for (const p of ['', '/seal', '/markers'])
      expect((await call('GET', `/api/recordings/${rec.id}${p}`, undefined, t.auth.admin)).status).toBe(200);
    for (const action of ['recording.view', 'recording.seal', 'recording.markers'])
      expect(await entries(action, 'admin-1')).toHaveLength(0);
  });
});

describe("an auditor's writes are refused with 403 and a reason", () => {
  const refused = async (method: string, path: string, body?: unknown) => {
    const res = await call(method, path, body);
    expect(res.status, `${method} ${path}`).toBe(403);
    const { error } = res.json();
    expect(error.code).toBe('forbidden');
    expect(error.message).toMatch(/auditor has read-only access/);
    return error.message;
  };

  it('deleting a recording, one or in bulk, and the recording stays', async () => {
    const target = await makeRecording(t, 'ready');
    expect(await refused('DELETE', `/api/recordings/${target.id}`)).toMatch(/administrator rights/);
    await refused('POST', '/api/admin/recordings/delete', { ids: [target.id] });
    expect((await t.service.recordings.rowById(target.id))?.status).toBe('ready');
  });

  it('placing or releasing a legal hold', async () => {
    const target = await makeRecording(t, 'ready');
    await refused('PUT', `/api/admin/recordings/${target.id}/hold`, { hold: true, reason: 'auditor try' });
    await refused('PUT', `/api/admin/recordings/${target.id}/hold`, { hold: false });
    expect((await t.service.recordings.rowById(target.id))?.heldAt).toBeNull();
  });

  it('changing the settings or running retention, and the settings are unchanged', async () => {
    const before = await t.service.settings.get();
    await refused('PUT', '/api/admin/settings', { autoRecord: !before.autoRecord });
    await refused('POST', '/api/admin/retention/run');
    expect((await t.service.settings.get()).autoRecord).toBe(before.autoRecord);
  });

  it("the admin API's other reads (overview, settings) are an administrator's only", async () => {
    await refused('GET', '/api/admin/overview');
    await refused('GET', '/api/admin/settings');
  });

  it("recording into someone else's recording: parts, tails, stop, complete, fail, markers, thumbnails", async () => {
    const { id } = await createRecording(t, 'user', 'auditor-open');
    const base = `/api/recordings/${id}`;
    await refused('POST', `${base}/parts`, { partNumber: 1, sizeBytes: 10 });
    await refused('POST', `${base}/tails`, { partNumber: 1, firstSeq: 0 });
    await refused('POST', `${base}/stop`);
    await refused('POST', `${base}/complete`, { durationMs: 1, parts: [{ partNumber: 1, etag: '"x"' }] });
    await refused('POST', `${base}/fail`, { reason: 'auditor try' });
    await refused('POST', `${base}/markers`, { markers: [{ offsetMs: 1, label: 'auditor' }] });
    const thumb = await call('PUT', `${base}/thumbnails/100`, jpeg());
    expect(thumb.status).toBe(403);
    expect((await t.service.recordings.rowById(id))?.status).toBe('recording');
  });

  it('a recording for someone else cannot be made: a user id in the body is not read, the recording is theirs', async () => {
    const res = await call('POST', '/api/recordings', { sessionId: 'as-u-1', mimeType: 'video/webm', userId: 'u-1' });
    expect(res.status).toBe(201);
    const { id } = JSON.parse(res.text) as { id: string };
    expect((await t.service.recordings.rowById(id))?.userId).toBe(AUDITOR.id);
  });

  it('a refused write writes no entry', async () => {
    const target = await makeRecording(t, 'ready');
    await refused('DELETE', `/api/recordings/${target.id}`);
    expect(await entries('recording.delete', AUDITOR.id)).toHaveLength(0);
  });
});

describe('an auditor is a user too', () => {
  it('records, reads and deletes their own session, none of it audited as oversight', async () => {
    const own = await makeRecording(t, 'ready', { who: 'auditor', sessionId: 'auditor-own' });
    expect((await call('GET', `/api/recordings/${own.id}`)).status).toBe(200);
    expect([200, 302]).toContain((await call('GET', `/api/recordings/${own.id}/download`)).status);
    const mine = await call('GET', '/api/recordings');
    expect((JSON.parse(mine.text) as { items: { id: string }[] }).items.map((r) => r.id)).toContain(own.id);
    for (const action of ['recording.view', 'recording.download'])
      expect(await entries(action, AUDITOR.id, own.id)).toHaveLength(0);
    expect((await call('DELETE', `/api/recordings/${own.id}`)).status).toBe(204);
  });

  it("others' recordings stay out of the auditor's own list (GET /api/recordings is always one's own)", async () => {
    const mine = await call('GET', '/api/recordings?limit=200');
    const items = (JSON.parse(mine.text) as { items: { userId: string }[] }).items;
    expect(items.every((r) => r.userId === AUDITOR.id)).toBe(true);
  });
});
