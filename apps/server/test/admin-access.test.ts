/**
 * Who may do what on the administrator's side: no
 * token, a user and an admin on every admin route, and on download and delete
 * of someone else's recording — each answer as docs/API.md "2. Identity", "3. Errors" says. Also the
 * admin listing's filters and paging, and the audit of admin actions.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecording, download, makeRecording, uploadPart, type Made } from './admin-fixtures.js';
import { TEST_STORAGE, fakeClock, testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

type Caller = 'none' | 'user' | 'admin';
const headersOf = (who: Caller) => (who === 'none' ? {} : t.auth[who]);

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

const ADMIN_ROUTES: { method: string; path: string; body?: unknown; ok: number }[] = [
  { method: 'GET', path: '/api/admin/recordings', ok: 200 },
  { method: 'GET', path: '/api/admin/settings', ok: 200 },
  { method: 'PUT', path: '/api/admin/settings', body: { autoRecord: false }, ok: 200 },
  { method: 'POST', path: '/api/admin/retention/run', ok: 200 },
  { method: 'GET', path: '/api/admin/audit', ok: 200 },
  // An id of no recording: the route answers 200 with a not_found result for it.
  { method: 'POST', path: '/api/admin/recordings/delete', body: { ids: [randomUUID()] }, ok: 200 },
  { method: 'GET', path: '/api/admin/overview', ok: 200 },
];

describe('admin routes: access matrix', () => {
  for (const r of ADMIN_ROUTES) {
    it(`${r.method} ${r.path}: no token 401, user 403, admin ${r.ok}`, async () => {
      await expectError(await t.json(r.method, r.path, r.body, headersOf('none')), 401, 'unauthorized');
      await expectError(await t.json(r.method, r.path, r.body, headersOf('user')), 403, 'forbidden');
      const res = await t.json(r.method, r.path, r.body, headersOf('admin'));
      expect(res.status).toBe(r.ok);
    });
  }

  it('a bad or expired token is 401 on an admin route, even with the admin role', async () => {
    await expectError(
      await t.json('GET', '/api/admin/settings', undefined, { authorization: 'Bearer not.a.jwt' }),
      401,
      'unauthorized',
    );
    const { token } = await import('./helpers.js');
    const expired = await token({ sub: 'admin-1', role: 'admin' }, { expiresIn: -60 });
    await expectError(
      await t.json('GET', '/api/admin/settings', undefined, { authorization: `Bearer ${expired}` }),
      401,
      'unauthorized',
    );
  });

  it('roles: ["admin"] counts as admin too', async () => {
    const { token } = await import('./helpers.js');
    const tk = await token({ sub: 'admin-2', roles: ['viewer', 'admin'] });
    expect((await t.json('GET', '/api/admin/settings', undefined, { authorization: `Bearer ${tk}` })).status).toBe(200);
  });
});

describe("someone else's recording: download and delete", () => {
  let rec: Made;
  beforeAll(async () => {
    rec = await makeRecording(t, 'ready', { who: 'user', sessionId: 'matrix' });
  });

  it('download: no token 401, another user 404 (as if absent), admin 200 with the bytes', async () => {
    const path = `/api/recordings/${rec.id}/download`;
    await expectError(await t.app.request(path), 401, 'unauthorized');
    await expectError(await t.app.request(path, { headers: t.auth.other }), 404, 'not_found');
    const res = await download(t, rec.id, t.auth.admin);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(rec.bytes)).toBe(true);
  });

  it('download-url: no token 401, another user 404, admin gets a URL that downloads the bytes', async () => {
    const path = `/api/recordings/${rec.id}/download-url`;
    await expectError(await t.json('POST', path), 401, 'unauthorized');
    await expectError(await t.json('POST', path, undefined, t.auth.other), 404, 'not_found');
    const res = await t.json('POST', path, undefined, t.auth.admin);
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    const file = await t.send(url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(rec.bytes)).toBe(true);
  });

  it("a non-admin's 404 for someone else's recording is the same as for a missing one", async () => {
    const missing = await t.app.request('/api/recordings/00000000-0000-4000-8000-000000000000/download', {
      headers: t.auth.other,
    });
    const foreign = await t.app.request(`/api/recordings/${rec.id}/download`, { headers: t.auth.other });
    expect(foreign.status).toBe(missing.status);
    expect(await foreign.json()).toEqual(await missing.json());
  });

  it('delete: no token 401, another user 404 and nothing removed, admin 204 and it is gone with its file', async () => {
    const victim = await makeRecording(t, 'ready', { who: 'user', sessionId: 'to-delete' });
    const path = `/api/recordings/${victim.id}`;
    await expectError(await t.json('DELETE', path), 401, 'unauthorized');
    await expectError(await t.json('DELETE', path, undefined, t.auth.other), 404, 'not_found');
    expect(await t.storage.stat(victim.storageKey)).not.toBeNull();
    expect((await t.json('GET', path, undefined, t.auth.user)).status).toBe(200);

    expect((await t.json('DELETE', path, undefined, t.auth.admin)).status).toBe(204);
    expect((await t.json('GET', path, undefined, t.auth.user)).status).toBe(404);
    expect(await t.storage.stat(victim.storageKey)).toBeNull();
  });

  it("the admin's download, download-url and delete of others' recordings are in the audit trail; the owner's own are not", async () => {
    const own = await makeRecording(t, 'ready', { who: 'user', sessionId: 'own' });
    expect((await download(t, own.id, t.auth.user)).status).toBe(200);
    expect((await t.json('DELETE', `/api/recordings/${own.id}`, undefined, t.auth.user)).status).toBe(204);

    const res = await t.json('GET', `/api/admin/audit?limit=200`, undefined, t.auth.admin);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as {
      items: {
        action: string;
        actorId: string;
        actorName: string;
        recordingId: string;
        at: string;
        details: Record<string, unknown>;
      }[];
    };
    const forRec = items.filter((i) => i.recordingId === rec.id).map((i) => i.action);
    expect(forRec.sort()).toEqual(['recording.download', 'recording.download_url']);
    const del = items.find((i) => i.action === 'recording.delete');
    expect(del).toMatchObject({
      actorId: 'admin-1',
      actorName: 'Root Admin',
      details: { userId: 'u-1', sessionId: 'to-delete' },
    });
    expect(Number.isNaN(Date.parse(del!.at))).toBe(false);
    expect(items.some((i) => i.recordingId === own.id)).toBe(false);
  });
});

describe('GET /api/admin/recordings', () => {
  let mine: Made[];
  let theirs: Made[];
  beforeAll(async () => {
    // A fresh app and database, so that counts below are exact; a clock a second apart per recording makes the order certain.
    // Starts at the real time: the part URLs' expiry is checked against it.
    const clock = fakeClock();
    const fresh = await testApp({ clock });
    t2 = fresh;
    const make = async (...args: Parameters<typeof makeRecording>) => {
      clock.advance(1000);
      return makeRecording(...args);
    };
    mine = [
      await make(fresh, 'ready', { who: 'user', sessionId: 's-a' }),
      await make(fresh, 'recording', { who: 'user', sessionId: 's-b' }),
    ];
    theirs = [
      await make(fresh, 'failed', { who: 'other', sessionId: 's-a' }),
      await make(fresh, 'ready', { who: 'other', sessionId: 's-c' }),
    ];
  });
  let t2: TestApp;
  afterAll(async () => {
    await t2?.close();
  });

  const list = async (query: string) => {
    const res = await t2.json('GET', `/api/admin/recordings${query}`, undefined, t2.auth.admin);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      items: { id: string; userId: string; sessionId: string; status: string }[];
      nextCursor: string | null;
    };
  };

  it("lists every user's recordings, newest first", async () => {
    const page = await list('');
    expect(page.items.map((i) => i.id)).toEqual([...mine, ...theirs].map((m) => m.id).reverse());
    expect(page.nextCursor).toBeNull();
  });

  it('filters by userId, sessionId and status, alone and together', async () => {
    expect((await list('?userId=u-2')).items.map((i) => i.id).sort()).toEqual(theirs.map((m) => m.id).sort());
    expect((await list('?sessionId=s-a')).items.map((i) => i.id).sort()).toEqual([mine[0]!.id, theirs[0]!.id].sort());
    expect((await list('?status=ready')).items.map((i) => i.id).sort()).toEqual([mine[0]!.id, theirs[1]!.id].sort());
    expect((await list('?status=ready&userId=u-1&sessionId=s-a')).items.map((i) => i.id)).toEqual([mine[0]!.id]);
    expect((await list('?userId=nobody')).items).toEqual([]);
  });

  it('pages with a cursor: every recording once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual([...mine, ...theirs].map((m) => m.id).reverse());
  });

  it('bad filters and cursors are 400 invalid_request', async () => {
    for (const q of ['?status=deleted', '?limit=0', '?limit=201', '?cursor=garbage']) {
      await expectError(
        await t2.json('GET', `/api/admin/recordings${q}`, undefined, t2.auth.admin),
        400,
        'invalid_request',
      );
    }
  });
});

describe('recording disabled', () => {
  it('every admin route answers 404, even to an admin', async () => {
    const off = await testApp({ env: { SORTIE_VIDEO_RECORDING_ENABLED: 'false' } });
    try {
      for (const r of ADMIN_ROUTES)
        await expectError(await off.json(r.method, r.path, r.body, off.auth.admin), 404, 'not_found');
    } finally {
      await off.close();
    }
  });
});

/**
 * The whole access matrix: every route × no token,
 * the owner, another user, an admin, each with the status docs/API.md gives.
 * Callers that must not change anything go first; the state is checked after.
 */
describe('access matrix: every route × none, owner, other user, admin', () => {
  type Cell = 'none' | 'user' | 'other' | 'admin';
  const ORDER: Cell[] = ['none', 'other', 'admin', 'user'];
  const as = (who: Cell) => (who === 'none' ? {} : t.auth[who]);

  async function matrix(
    name: string,
    expected: Record<Cell, number>,
    send: (who: Cell) => Response | Promise<Response>,
    order: Cell[] = ORDER,
  ) {
    const got: Partial<Record<Cell, number>> = {};
    for (const who of order) {
      const res = await send(who);
      await res.body?.cancel();
      got[who] = res.status;
    }
    expect(got, name).toEqual(expected);
  }

  it('service-wide recording routes: 401 without a token, open to every signed-in caller', async () => {
    await matrix('GET /api/recordings/config', { none: 401, other: 200, admin: 200, user: 200 }, (w) =>
      t.json('GET', '/api/recordings/config', undefined, as(w)),
    );
    await matrix('GET /api/recordings', { none: 401, other: 200, admin: 200, user: 200 }, (w) =>
      t.json('GET', '/api/recordings', undefined, as(w)),
    );
    await matrix('POST /api/recordings', { none: 401, other: 201, admin: 201, user: 201 }, (w) =>
      t.json('POST', '/api/recordings', { sessionId: `matrix-${w}`, mimeType: 'video/webm' }, as(w)),
    );
  });

  it("reading someone's recording: the owner and admins; others 404 as if absent", async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user', sessionId: 'matrix-read' });
    const base = `/api/recordings/${rec.id}`;
    const expected = { none: 401, other: 404, admin: 200, user: 200 };
    await matrix('GET /:id', expected, (w) => t.json('GET', base, undefined, as(w)));
    await matrix(
      'GET /:id/download',
      { ...expected, admin: TEST_STORAGE === 's3' ? 302 : 200, user: TEST_STORAGE === 's3' ? 302 : 200 },
      (w) => t.app.request(`${base}/download`, { headers: as(w) }),
    );
    await matrix('POST /:id/download-url', expected, (w) => t.json('POST', `${base}/download-url`, undefined, as(w)));
  });

  it('writing to a recording: the owner only; others and admins 404, and nothing changes', async () => {
    const expected = { none: 401, other: 404, admin: 404, user: 200 };
    const open = await createRecording(t, 'user', 'matrix-write');
    await matrix('POST /:id/parts', expected, (w) =>
      t.json('POST', `/api/recordings/${open.id}/parts`, { partNumber: 1, sizeBytes: 3 }, as(w)),
    );
    const bytes = Buffer.from('abc');
    const etag = await uploadPart(t, open.id, 1, bytes);
    const status = async (id: string) => (await t.service.recordings.rowById(id))?.status;

    await matrix('POST /:id/stop', expected, async (w) => {
      const res = await t.json('POST', `/api/recordings/${open.id}/stop`, undefined, as(w));
      if (w !== 'user') expect(await status(open.id)).toBe('recording');
      return res;
    });
    await matrix('POST /:id/complete', expected, async (w) => {
      const res = await t.json(
        'POST',
        `/api/recordings/${open.id}/complete`,
        { durationMs: 1, parts: [{ partNumber: 1, etag }] },
        as(w),
      );
      if (w !== 'user') expect(await status(open.id)).toBe('uploading');
      return res;
    });
    expect(await status(open.id)).toBe('ready');

    const doomed = await createRecording(t, 'user', 'matrix-fail');
    await matrix('POST /:id/fail', expected, async (w) => {
      const res = await t.json('POST', `/api/recordings/${doomed.id}/fail`, { reason: 'matrix' }, as(w));
      if (w !== 'user') expect(await status(doomed.id)).toBe('recording');
      return res;
    });
    expect(await status(doomed.id)).toBe('failed');
  });

  it('delete: the owner and admins (204); others 404 and it stays', async () => {
    const forUser = await makeRecording(t, 'ready', { who: 'user', sessionId: 'matrix-del-1' });
    const forAdmin = await makeRecording(t, 'ready', { who: 'user', sessionId: 'matrix-del-2' });
    const target: Record<Cell, string> = { none: forUser.id, other: forUser.id, user: forUser.id, admin: forAdmin.id };
    await matrix('DELETE /:id', { none: 401, other: 404, admin: 204, user: 204 }, async (w) => {
      const res = await t.json('DELETE', `/api/recordings/${target[w]}`, undefined, as(w));
      if (w === 'none' || w === 'other') expect(await t.service.recordings.rowById(forUser.id)).not.toBeNull();
      return res;
    });
    expect(await t.service.recordings.rowById(forUser.id)).toBeNull();
    expect(await t.service.recordings.rowById(forAdmin.id)).toBeNull();
  });

  it('admin routes: 401, 403 for the owner and for another user, 200 for an admin', async () => {
    for (const r of ADMIN_ROUTES) {
      await matrix(`${r.method} ${r.path}`, { none: 401, other: 403, admin: r.ok, user: 403 }, (w) =>
        t.json(r.method, r.path, r.body, as(w)),
      );
    }
  });

  it('signed-URL routes (files, ends, uploads) take the URL as the credential: the same answer whoever calls, 401 for a bad token', async () => {
    const rec = await makeRecording(t, 'ready', { who: 'user', sessionId: 'matrix-files' });
    const { url } = (await (
      await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.user)
    ).json()) as { url: string };
    if (url.includes('/api/files/')) {
      const p = new URL(url).pathname;
      await matrix('GET /api/files/:token', { none: 200, other: 200, admin: 200, user: 200 }, (w) =>
        t.app.request(p, { headers: as(w) }),
      );
      await matrix('GET /api/files/<bad>', { none: 401, other: 401, admin: 401, user: 401 }, (w) =>
        t.app.request(`${p}x`, { headers: as(w) }),
      );
    }
    const ending = await t.json(
      'POST',
      '/api/recordings',
      { sessionId: 'matrix-end', mimeType: 'video/webm' },
      t.auth.user,
    );
    const endPath = new URL(((await ending.json()) as { endUrl: string }).endUrl).pathname;
    await matrix('POST /api/ends/<bad>', { none: 401, other: 401, admin: 401, user: 401 }, (w) =>
      t.app.request(`${endPath}x`, { method: 'POST', headers: as(w) }),
    );
    await matrix('POST /api/ends/:token', { none: 202, other: 202, admin: 202, user: 202 }, (w) =>
      t.app.request(endPath, { method: 'POST', headers: as(w) }),
    );
    const open = await createRecording(t, 'user', 'matrix-upload');
    const part = (await (
      await t.json('POST', `/api/recordings/${open.id}/parts`, { partNumber: 1, sizeBytes: 3 }, t.auth.user)
    ).json()) as { url: string };
    if (part.url.includes('/api/uploads/')) {
      const p = new URL(part.url).pathname;
      await matrix('PUT /api/uploads/<bad>', { none: 401, other: 401, admin: 401, user: 401 }, (w) =>
        t.app.request(`${p}x`, { method: 'PUT', headers: as(w), body: 'abc' }),
      );
      await matrix('PUT /api/uploads/:token', { none: 200, other: 200, admin: 200, user: 200 }, (w) =>
        t.app.request(p, { method: 'PUT', headers: as(w), body: 'abc' }),
      );
    }
  });
});
