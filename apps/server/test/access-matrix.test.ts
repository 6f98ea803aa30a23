/**
 * Who may call what: every route the app registers × {no token, the recording's owner, another user, an
 * admin, an auditor}, each cell's status asserted. The list of routes is read from the app itself (Hono's app.routes), so
 * a route added without a row here fails the first test. Routes whose URL carries its own signed token
 * (uploads, ends, files, thumbnail files) answer the same whoever sends a bearer header: the URL is the
 * capability. Each cell that changes state gets a recording of its own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/lib/signed-token.js';
import { createRecording, makeRecording, uploadPart, type Made } from './admin-fixtures.js';
import { TEST_STORAGE, testApp, type TestApp } from './helpers.js';

type Who = 'none' | 'owner' | 'other' | 'admin' | 'auditor';
const WHO: Who[] = ['none', 'owner', 'other', 'admin', 'auditor'];
const S3 = TEST_STORAGE === 's3';

interface Req {
  path: string;
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}
interface Row {
  /** Expected status per caller. */
  expect: Record<Who, number>;
  /** The request of one cell (a fixture of its own where the call changes state). */
  request: () => Promise<Req>;
}

let t: TestApp;
let shared: Made;
const json = (v: unknown) => ({ body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });
const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(300)]);
const all = (status: number): Record<Who, number> => ({
  none: status,
  owner: status,
  other: status,
  admin: status,
  auditor: status,
});
/**
 * A bearer route reading the owner's recording: the owner, an admin and an auditor (read-only oversight);
 * others see no such recording.
 */
const ownerAndReaders = (ok: number) => ({ none: 401, owner: ok, other: 404, admin: ok, auditor: ok });
/** A write the owner or an admin makes (delete): an auditor sees the recording, so is refused as such (403). */
const ownerAndAdmin = (ok: number) => ({ none: 401, owner: ok, other: 404, admin: ok, auditor: 403 });
/** A write only the owner makes (recording into it): an admin gets 404 like any other user; an auditor a 403. */
const ownerOnly = (ok: number) => ({ none: 401, owner: ok, other: 404, admin: 404, auditor: 403 });
const anyUser = (ok: number) => ({ none: 401, owner: ok, other: ok, admin: ok, auditor: ok });
const adminOnly = (ok: number) => ({ none: 401, owner: 403, other: 403, admin: ok, auditor: 403 });
/** The admin API's reads an auditor makes too: every user's recordings and the audit trail. */
const adminAndAuditor = (ok: number) => ({ ...adminOnly(ok), auditor: ok });

async function openWithPart(): Promise<{ id: string; partNumber: number; url: string; partsUrl?: string }> {
  const { id } = await createRecording(t, 'user', 'matrix-open');
  const res = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.user);
  expect(res.status).toBe(200);
  const target = (await res.json()) as { url: string; partsUrl?: { url: string } };
  return { id, partNumber: 1, url: target.url, partsUrl: target.partsUrl?.url };
}

const ROUTES: Record<string, Row> = {
  'GET /healthz': { expect: all(200), request: async () => ({ path: '/healthz' }) },
  'GET /metrics': { expect: all(200), request: async () => ({ path: '/metrics' }) },
  'GET /readyz': { expect: all(200), request: async () => ({ path: '/readyz' }) },

  // Capabilities in the URL. The local backend receives part bodies itself; on S3 the parts go to the bucket
  // and these routes answer 404.
  'PUT /api/uploads/:token': {
    expect: all(S3 ? 404 : 200),
    request: async () => {
      const { url } = await openWithPart();
      const path = S3 ? `/api/uploads/${randomUUID()}` : new URL(url).pathname;
      return { path, method: 'PUT', body: randomBytes(10), headers: { 'content-length': '10' } };
    },
  },
  'PUT /api/uploads/:token/:partNumber': {
    expect: all(S3 ? 404 : 200),
    request: async () => {
      const { partsUrl } = await openWithPart();
      const path = S3 ? `/api/uploads/${randomUUID()}/2` : `${new URL(partsUrl!).pathname}/2`;
      return { path, method: 'PUT', body: randomBytes(10), headers: { 'content-length': '10' } };
    },
  },
  'POST /api/ends/:token': {
    expect: all(202),
    request: async () => {
      const res = await t.json('POST', '/api/recordings', { sessionId: 'm', mimeType: 'video/webm' }, t.auth.user);
      return { path: new URL(((await res.json()) as { endUrl: string }).endUrl).pathname, method: 'POST' };
    },
  },
  'GET /api/files/:token': {
    expect: all(200),
    request: async () => ({
      path: `/api/files/${await signToken(t.signingKey, { typ: 'file', rid: shared.id }, new Date(Date.now() + 3600_000))}`,
    }),
  },
  'HEAD /api/files/:token': {
    expect: all(200),
    request: async () => ({
      path: `/api/files/${await signToken(t.signingKey, { typ: 'file', rid: shared.id }, new Date(Date.now() + 3600_000))}`,
      method: 'HEAD',
    }),
  },
  'GET /api/thumbnails/:token/:offsetMs': {
    expect: all(200),
    request: async () => {
      const res = await t.json('GET', `/api/recordings/${shared.id}/thumbnails`, undefined, t.auth.user);
      const { items } = (await res.json()) as { items: { url: string }[] };
      return { path: new URL(items[0]!.url).pathname };
    },
  },

  // The recordings API (bearer).
  'GET /api/recordings/config': { expect: anyUser(200), request: async () => ({ path: '/api/recordings/config' }) },
  'POST /api/recordings': {
    expect: anyUser(201),
    request: async () => ({
      path: '/api/recordings',
      method: 'POST',
      ...json({ sessionId: 'm', mimeType: 'video/webm' }),
    }),
  },
  'GET /api/recordings': { expect: anyUser(200), request: async () => ({ path: '/api/recordings' }) },
  'GET /api/recordings/:id': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}` }),
  },
  'POST /api/recordings/:id/parts': {
    expect: ownerOnly(200),
    request: async () => {
      const { id } = await createRecording(t, 'user', 'matrix-parts');
      return { path: `/api/recordings/${id}/parts`, method: 'POST', ...json({ partNumber: 1, sizeBytes: 10 }) };
    },
  },
  'POST /api/recordings/:id/tails': {
    // Tail objects exist on S3 only (a backend with a part floor); the local backend has none to hand out.
    expect: { ...ownerOnly(200), owner: S3 ? 200 : 404 },
    request: async () => {
      const { id } = await createRecording(t, 'user', 'matrix-tails');
      return { path: `/api/recordings/${id}/tails`, method: 'POST', ...json({ partNumber: 1, firstSeq: 0 }) };
    },
  },
  'POST /api/recordings/:id/stop': {
    expect: ownerOnly(200),
    request: async () => {
      const { id } = await createRecording(t, 'user', 'matrix-stop');
      return { path: `/api/recordings/${id}/stop`, method: 'POST' };
    },
  },
  'POST /api/recordings/:id/complete': {
    expect: ownerOnly(200),
    request: async () => {
      const { id } = await createRecording(t, 'user', 'matrix-complete');
      const etag = await uploadPart(t, id, 1, randomBytes(1000));
      return {
        path: `/api/recordings/${id}/complete`,
        method: 'POST',
        ...json({ durationMs: 1000, parts: [{ partNumber: 1, etag }] }),
      };
    },
  },
  'POST /api/recordings/:id/fail': {
    expect: ownerOnly(200),
    request: async () => {
      const { id } = await createRecording(t, 'user', 'matrix-fail');
      return { path: `/api/recordings/${id}/fail`, method: 'POST', ...json({ reason: 'matrix' }) };
    },
  },
  'GET /api/recordings/:id/download': {
    // S3: a redirect to the bucket.
    expect: ownerAndReaders(S3 ? 302 : 200),
    request: async () => ({ path: `/api/recordings/${shared.id}/download` }),
  },
  'POST /api/recordings/:id/download-url': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}/download-url`, method: 'POST' }),
  },
  'GET /api/recordings/:id/seal': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}/seal` }),
  },
  // The seals' public keys: anyone checks a seal.
  'GET /api/seal-keys': { expect: all(200), request: async () => ({ path: '/api/seal-keys' }) },
  'DELETE /api/recordings/:id': {
    expect: ownerAndAdmin(204),
    request: async () => ({ path: `/api/recordings/${(await makeRecording(t, 'ready')).id}`, method: 'DELETE' }),
  },
  'POST /api/recordings/:id/markers': {
    expect: ownerOnly(201),
    request: async () => ({
      path: `/api/recordings/${shared.id}/markers`,
      method: 'POST',
      ...json({ markers: [{ offsetMs: 10, label: 'matrix' }] }),
    }),
  },
  'GET /api/recordings/:id/markers': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}/markers` }),
  },
  'PUT /api/recordings/:id/thumbnails/:offsetMs': {
    expect: ownerOnly(204),
    request: async () => ({
      // An open recording: thumbnails are taken while recording (and for a minute after the end).
      path: `/api/recordings/${(await createRecording(t, 'user', 'matrix-thumb')).id}/thumbnails/500`,
      method: 'PUT',
      body: jpeg(),
      headers: { 'content-type': 'image/jpeg' },
    }),
  },
  'GET /api/recordings/:id/thumbnails': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}/thumbnails` }),
  },
  'GET /api/recordings/:id/thumbnails/:offsetMs': {
    expect: ownerAndReaders(200),
    request: async () => ({ path: `/api/recordings/${shared.id}/thumbnails/0` }),
  },

  // The admin API.
  'GET /api/admin/recordings': {
    expect: adminAndAuditor(200),
    request: async () => ({ path: '/api/admin/recordings' }),
  },
  'POST /api/admin/recordings/delete': {
    expect: adminOnly(200),
    request: async () => ({
      path: '/api/admin/recordings/delete',
      method: 'POST',
      ...json({ ids: [(await makeRecording(t, 'ready')).id] }),
    }),
  },
  'PUT /api/admin/recordings/:id/hold': {
    expect: adminOnly(200),
    request: async () => ({
      path: `/api/admin/recordings/${(await makeRecording(t, 'ready')).id}/hold`,
      method: 'PUT',
      ...json({ hold: true, reason: 'access matrix' }),
    }),
  },
  'GET /api/admin/overview': { expect: adminOnly(200), request: async () => ({ path: '/api/admin/overview' }) },
  'GET /api/admin/settings': { expect: adminOnly(200), request: async () => ({ path: '/api/admin/settings' }) },
  'PUT /api/admin/settings': {
    expect: adminOnly(200),
    request: async () => ({ path: '/api/admin/settings', method: 'PUT', ...json({ autoRecord: false }) }),
  },
  'POST /api/admin/retention/run': {
    expect: adminOnly(200),
    request: async () => ({ path: '/api/admin/retention/run', method: 'POST' }),
  },
  'GET /api/admin/audit': { expect: adminAndAuditor(200), request: async () => ({ path: '/api/admin/audit' }) },
  'GET /api/admin/audit/verify': {
    expect: adminAndAuditor(200),
    request: async () => ({ path: '/api/admin/audit/verify' }),
  },
  'GET /api/admin/audit/export': {
    expect: adminAndAuditor(200),
    request: async () => ({ path: '/api/admin/audit/export' }),
  },
};

/** Demo mode's own routes: public by design (they hand out the demo tokens), only in a demo instance. */
const DEMO_ROUTES: Record<string, Row> = {
  'GET /api/demo': { expect: all(200), request: async () => ({ path: '/api/demo' }) },
  'POST /api/demo/token': {
    expect: all(200),
    request: async () => ({ path: '/api/demo/token', method: 'POST', ...json({ as: 'user' }) }),
  },
};

/** "METHOD /path" of every route the app answers (Hono lists middleware as ALL; validators repeat a route). */
function registered(app: TestApp['app']): string[] {
  return [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].sort();
}

beforeAll(async () => {
  t = await testApp();
  // A ready recording with a thumbnail, sent while it was recording.
  const { id } = await createRecording(t, 'user', 'matrix-shared');
  const bytes = randomBytes(3000);
  const etag = await uploadPart(t, id, 1, bytes);
  const put = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
    method: 'PUT',
    headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
    body: jpeg(),
  });
  expect(put.status).toBe(204);
  const done = await t.json(
    'POST',
    `/api/recordings/${id}/complete`,
    { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
    t.auth.user,
  );
  expect(done.status).toBe(200);
  shared = { id, status: 'ready', storageKey: (await t.service.recordings.rowById(id))!.storageKey, bytes };
  expect(await t.service.jobs.sealer.run()).toBe(1);
});
afterAll(async () => {
  await t?.close();
});

const authOf = (who: Who): Record<string, string> => (who === 'none' ? {} : t.auth[who === 'owner' ? 'user' : who]);

async function cell(app: TestApp['app'], row: Row, who: Who): Promise<number> {
  const req = await row.request();
  const res = await app.request(req.path, {
    method: req.method ?? 'GET',
    headers: { ...req.headers, ...authOf(who) },
    body: req.body,
  });
  await res.body?.cancel();
  return res.status;
}

describe('access matrix', () => {
  it('has a row for every route the app registers, and none for a route it does not', () => {
    expect(Object.keys(ROUTES).sort()).toEqual(registered(t.app));
  });

  for (const [route, row] of Object.entries(ROUTES)) {
    it(`${route}: ${WHO.map((w) => `${w} ${row.expect[w]}`).join(', ')}`, async () => {
      const got: Record<string, number> = {};
      for (const who of WHO) got[who] = await cell(t.app, row, who);
      expect(got).toEqual(row.expect);
    });
  }
});

describe('access matrix, demo instance', () => {
  let demo: TestApp;
  beforeAll(async () => {
    demo = await testApp({ env: { SORTIE_DEMO: 'true', SORTIE_AUTH_JWT_SECRET: '' } });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('registers exactly the routes above plus the demo routes', () => {
    expect(registered(demo.app)).toEqual([...Object.keys(ROUTES), ...Object.keys(DEMO_ROUTES)].sort());
  });

  for (const [route, row] of Object.entries(DEMO_ROUTES)) {
    it(`${route}: anyone ${row.expect.none}`, async () => {
      for (const who of WHO) expect(await cell(demo.app, row, who), who).toBe(row.expect[who]);
    });
  }
});
