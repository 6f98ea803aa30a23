/**
 * Bad input never becomes a 500, and signed URLs must carry `exp`: input
 * PostgreSQL cannot take is a 4xx naming the problem, never a 500; a create
 * that fails in the database leaves no parts folder or multipart upload; a
 * signed URL token without `exp` is refused.
 */
import { readdir } from 'node:fs/promises';
import { sign } from 'hono/jwt';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRecording } from './admin-fixtures.js';
import { TEST_STORAGE, testApp, token, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

const NUL = '\u0000';
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

async function expect400(res: Response, field: string) {
  expect(res.status).toBe(400);
  const error = await errorOf(res);
  expect(error.code).toBe('invalid_request');
  expect(error.message).toContain(field);
}

/** Open uploads in storage: the local backend's parts folders, or the S3 server's open multipart uploads. */
async function openUploads(): Promise<number> {
  if (TEST_STORAGE === 's3') {
    const { sharedS3Server } = await import('./s3-server.js');
    return (await (await sharedS3Server()).openUploads()).length;
  }
  const entries = await readdir(t.storagePath, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).length;
}

describe('a NUL character in input is 400, not a 500 from PostgreSQL', () => {
  it('in sessionId on create, and nothing is left in storage', async () => {
    const before = await openUploads();
    await expect400(
      await t.json('POST', '/api/recordings', { sessionId: `a${NUL}b`, mimeType: 'video/webm' }, t.auth.user),
      'sessionId',
    );
    expect(await openUploads()).toBe(before);
  });

  it('in a fail reason, and the recording stays as it was', async () => {
    const rec = await makeRecording(t, 'recording');
    await expect400(
      await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: `x${NUL}` }, t.auth.user),
      'reason',
    );
    expect((await t.service.recordings.rowById(rec.id))?.status).toBe('recording');
  });

  it('in an ETag of complete', async () => {
    const rec = await makeRecording(t, 'recording');
    await expect400(
      await t.json(
        'POST',
        `/api/recordings/${rec.id}/complete`,
        { parts: [{ partNumber: 1, etag: `"${NUL}"` }] },
        t.auth.user,
      ),
      'etag',
    );
  });

  it('in the list filters of users and admins, and the audit filter', async () => {
    await expect400(await t.json('GET', `/api/recordings?sessionId=%00`, undefined, t.auth.user), 'sessionId');
    await expect400(await t.json('GET', `/api/admin/recordings?userId=u%00`, undefined, t.auth.admin), 'userId');
    await expect400(await t.json('GET', `/api/admin/recordings?sessionId=%00s`, undefined, t.auth.admin), 'sessionId');
    await expect400(await t.json('GET', `/api/admin/audit?actorId=%00`, undefined, t.auth.admin), 'actorId');
  });

  it("in a token's sub: 401 (the token is unusable, like one with no sub)", async () => {
    const headers = { authorization: `Bearer ${await token({ sub: `u${NUL}1` })}` };
    for (const [method, path, body] of [
      ['GET', '/api/recordings', undefined],
      ['POST', '/api/recordings', { sessionId: 's', mimeType: 'video/webm' }],
    ] as const) {
      const res = await t.json(method, path, body, headers);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
  });

  it("in a token's name: the name is dropped (as an overlong one is), the request works", async () => {
    const headers = { authorization: `Bearer ${await token({ sub: 'u-nul-name', name: `Ada${NUL}` })}` };
    const res = await t.json('POST', '/api/recordings', { sessionId: 'nul-name', mimeType: 'video/webm' }, headers);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ userId: 'u-nul-name', userName: null });
  });
});

describe('cursors', () => {
  const cursor = (iso: string, id = '00000000-0000-4000-8000-000000000000') =>
    Buffer.from(`${iso}|${id}`).toString('base64url');

  it('one whose date PostgreSQL cannot take (far future, far past) is 400', async () => {
    for (const iso of [
      '+275760-09-13T00:00:00.000Z',
      '+020000-01-01T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
    ]) {
      for (const path of ['/api/recordings', '/api/admin/recordings', '/api/admin/audit']) {
        const res = await t.json('GET', `${path}?cursor=${cursor(iso)}`, undefined, t.auth.admin);
        expect(res.status, `${path} ${iso}`).toBe(400);
        expect((await errorOf(res)).message).toContain('cursor');
      }
    }
  });

  it('one in the years this service writes still pages (an empty page past the end)', async () => {
    for (const iso of ['9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z']) {
      const res = await t.json('GET', `/api/admin/recordings?cursor=${cursor(iso)}`, undefined, t.auth.admin);
      expect(res.status, iso).toBe(200);
    }
  });
});

describe('a create the database refuses', () => {
  it('answers 500 and discards the upload it had prepared in storage', async () => {
    // A real failure of the insert, from the database itself: a trigger that refuses one session id.
    await t.database.db.execute(
      sql.raw(`create function sortie_test_refuse() returns trigger language plpgsql as $$
        begin if new.session_id = 'refuse-me' then raise exception 'refused by the test'; end if; return new; end $$`),
    );
    await t.database.db.execute(
      sql.raw(
        `create trigger sortie_test_refuse before insert on recordings for each row execute function sortie_test_refuse()`,
      ),
    );
    try {
      const before = await openUploads();
      const res = await t.json(
        'POST',
        '/api/recordings',
        { sessionId: 'refuse-me', mimeType: 'video/webm' },
        t.auth.user,
      );
      expect(res.status).toBe(500);
      const body = JSON.stringify(await res.json());
      expect(body).not.toMatch(/refused by the test|insert|session_id/i);
      expect(await openUploads()).toBe(before);
    } finally {
      await t.database.db.execute(sql.raw(`drop trigger sortie_test_refuse on recordings`));
      await t.database.db.execute(sql.raw(`drop function sortie_test_refuse()`));
    }
  });
});

describe('signed URL tokens must carry exp', () => {
  it('a part URL and a file URL signed with the right key but no exp are 401', async () => {
    const rec = await makeRecording(t, 'ready');
    const signingKey = await t.service.settings.signingKey();
    const part = await sign({ typ: 'part', rid: rec.id, pn: 2, size: 3 }, signingKey, 'HS256');
    const put = await t.app.request(`/api/uploads/${part}`, { method: 'PUT', body: 'abc' });
    // The S3 backend has no upload route of its own (parts go to the bucket).
    expect(put.status).toBe(TEST_STORAGE === 's3' ? 404 : 401);
    const file = await sign({ typ: 'file', rid: rec.id }, signingKey, 'HS256');
    const get = await t.app.request(`/api/files/${file}`);
    expect(get.status).toBe(401);
    // The same claims with an exp are accepted: the refusal is about exp alone.
    const exp = Math.floor(Date.now() / 1000) + 60;
    const ok = await t.app.request(`/api/files/${await sign({ typ: 'file', rid: rec.id, exp }, signingKey, 'HS256')}`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });
});
