/**
 * Every non-admin recording route: its success and its errors (docs/API.md "2. Identity" to "5. Routes").
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from 'hono/jwt';
import { TEST_SECRET, testApp, token, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: { SORTIE_RECORDING_MAX_SIZE_MB: '1' } });
});
afterAll(async () => {
  await t?.close();
});

type Rec = { id: string; status: string; sizeBytes: number; userId: string; sessionId: string };
const LIMIT = 1048576;

async function create(headers = t.auth.user, sessionId = 'sess-routes'): Promise<Rec> {
  const r = await t.json('POST', '/api/recordings', { sessionId, mimeType: 'video/webm;codecs=vp9' }, headers);
  expect(r.status).toBe(201);
  return (await r.json()) as Rec;
}

async function sendPart(id: string, partNumber: number, bytes: Uint8Array, headers = t.auth.user): Promise<string> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, headers);
  expect(r.status).toBe(200);
  const target = (await r.json()) as { url: string; headers: Record<string, string>; method: string };
  expect(target.method).toBe('PUT');
  const put = await t.app.request(target.url, { method: 'PUT', headers: target.headers, body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

async function ready(bytes: Uint8Array, headers = t.auth.user): Promise<Rec> {
  const rec = await create(headers);
  const etag = await sendPart(rec.id, 1, bytes, headers);
  const r = await t.json(
    'POST',
    `/api/recordings/${rec.id}/complete`,
    { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
    headers,
  );
  expect(r.status).toBe(200);
  return (await r.json()) as Rec;
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

describe('identity', () => {
  it('answers 401 with no token, on every /api/recordings route', async () => {
    const id = (await create()).id;
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/recordings/config'],
      ['POST', '/api/recordings', { sessionId: 's', mimeType: 'video/webm' }],
      ['GET', '/api/recordings'],
      ['GET', `/api/recordings/${id}`],
      ['POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 1 }],
      ['POST', `/api/recordings/${id}/stop`],
      ['POST', `/api/recordings/${id}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] }],
      ['POST', `/api/recordings/${id}/fail`, { reason: 'x' }],
      ['GET', `/api/recordings/${id}/download`],
      ['POST', `/api/recordings/${id}/download-url`],
      ['DELETE', `/api/recordings/${id}`],
    ];
    for (const [method, path, body] of routes) {
      await expectError(await t.json(method, path, body), 401, 'unauthorized');
    }
  });

  it('answers 401 to a token signed with another secret, an expired one, garbage, and one without sub', async () => {
    const wrongSecret = await token({ sub: 'u-1' }, { secret: 'another-secret-that-is-at-least-32-chars!!' });
    const expired = await token({ sub: 'u-1' }, { expiresIn: -60 });
    const noSub = await token({ name: 'nobody' });
    // A token that never expires is refused: docs/API.md "2. Identity" enforces exp.
    const now = Math.floor(Date.now() / 1000);
    const noExp = await sign({ sub: 'u-1', iat: now }, TEST_SECRET, 'HS256');
    for (const tok of [wrongSecret, expired, 'not-a-jwt', noSub, noExp]) {
      await expectError(
        await t.json('GET', '/api/recordings', undefined, { authorization: `Bearer ${tok}` }),
        401,
        'unauthorized',
      );
    }
    await expectError(
      await t.json('GET', '/api/recordings', undefined, { authorization: 'Basic abc' }),
      401,
      'unauthorized',
    );
  });

  it("hides another user's recording behind 404 on every owner route, exactly like a missing one", async () => {
    const rec = await create(t.auth.user);
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const id of [rec.id, missing]) {
      await expectError(await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.other), 404, 'not_found');
      await expectError(
        await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.other),
        404,
        'not_found',
      );
      await expectError(await t.json('POST', `/api/recordings/${id}/stop`, undefined, t.auth.other), 404, 'not_found');
      await expectError(
        await t.json('POST', `/api/recordings/${id}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] }, t.auth.other),
        404,
        'not_found',
      );
      await expectError(
        await t.json('POST', `/api/recordings/${id}/fail`, { reason: 'x' }, t.auth.other),
        404,
        'not_found',
      );
      await expectError(
        await t.json('GET', `/api/recordings/${id}/download`, undefined, t.auth.other),
        404,
        'not_found',
      );
      await expectError(
        await t.json('POST', `/api/recordings/${id}/download-url`, undefined, t.auth.other),
        404,
        'not_found',
      );
      await expectError(await t.json('DELETE', `/api/recordings/${id}`, undefined, t.auth.other), 404, 'not_found');
    }
    // And the owner's recording is untouched by all of that.
    const mine = await t.json('GET', `/api/recordings/${rec.id}`, undefined, t.auth.user);
    expect(((await mine.json()) as Rec).status).toBe('recording');
  });
});

describe('validation', () => {
  it('answers 400 to a malformed id', async () => {
    for (const path of ['/api/recordings/not-a-uuid', '/api/recordings/123/stop', "/api/recordings/'%20or%201=1"]) {
      const method = path.endsWith('stop') ? 'POST' : 'GET';
      await expectError(await t.json(method, path, undefined, t.auth.user), 400, 'invalid_request');
    }
  });

  it('answers 400 to malformed bodies', async () => {
    await expectError(await t.json('POST', '/api/recordings', '{not json', t.auth.user), 400, 'invalid_request');
    await expectError(
      await t.json('POST', '/api/recordings', { sessionId: '', mimeType: 'video/webm' }, t.auth.user),
      400,
      'invalid_request',
    );
    await expectError(
      await t.json('POST', '/api/recordings', { sessionId: 's', mimeType: 'text/html' }, t.auth.user),
      400,
      'invalid_request',
    );
    const rec = await create();
    for (const body of [
      { partNumber: 0, sizeBytes: 1 },
      { partNumber: 1.5, sizeBytes: 1 },
      { partNumber: 1, sizeBytes: -1 },
      { partNumber: 10_001, sizeBytes: 1 },
      {},
    ]) {
      await expectError(
        await t.json('POST', `/api/recordings/${rec.id}/parts`, body, t.auth.user),
        400,
        'invalid_request',
      );
    }
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/complete`, { parts: [] }, t.auth.user),
      400,
      'invalid_request',
    );
    // durationMs beyond the column's 32-bit range is a 400 before anything is joined.
    await expectError(
      await t.json(
        'POST',
        `/api/recordings/${rec.id}/complete`,
        { durationMs: 3e9, parts: [{ partNumber: 1, etag: 'x' }] },
        t.auth.user,
      ),
      400,
      'invalid_request',
    );
    await expectError(
      await t.json(
        'POST',
        `/api/recordings/${rec.id}/complete`,
        { parts: [{ partNumber: 2, etag: 'x' }] },
        t.auth.user,
      ),
      400,
      'invalid_request',
    );
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: '' }, t.auth.user),
      400,
      'invalid_request',
    );
    await expectError(await t.json('GET', '/api/recordings?limit=0', undefined, t.auth.user), 400, 'invalid_request');
    await expectError(await t.json('GET', '/api/recordings?limit=201', undefined, t.auth.user), 400, 'invalid_request');
    await expectError(
      await t.json('GET', '/api/recordings?status=done', undefined, t.auth.user),
      400,
      'invalid_request',
    );
    await expectError(
      await t.json('GET', '/api/recordings?cursor=bogus', undefined, t.auth.user),
      400,
      'invalid_request',
    );
  });

  it('refuses a forged or expired local upload URL with 401 and stores nothing', async () => {
    const rec = await create();
    const r = await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 4 }, t.auth.user);
    const { url } = (await r.json()) as { url: string };
    // Change a character inside the signature (not the last, whose low bits base64url may ignore).
    const at = url.length - 10;
    const forged = url.slice(0, at) + (url[at] === 'A' ? 'B' : 'A') + url.slice(at + 1);
    await expectError(await t.app.request(forged, { method: 'PUT', body: 'abcd' }), 401, 'unauthorized');
    const got = (await (await t.json('GET', `/api/recordings/${rec.id}`, undefined, t.auth.user)).json()) as Rec;
    expect(got.sizeBytes).toBe(0);
  });
});

describe('routes', () => {
  it('GET /config tells the client the rules', async () => {
    const r = await t.json('GET', '/api/recordings/config', undefined, t.auth.user);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      enabled: true,
      autoRecord: false,
      maxSizeBytes: LIMIT,
      backend: t.storage.backend,
      minPartSizeBytes: t.storage.minPartSizeBytes,
      maxParts: t.storage.maxParts,
      // Only S3 rewrites a finished object to write the Duration; this file runs on local.
      writesDuration: false,
      frameRate: 15,
      videoBitsPerSecond: 1_500_000,
    });
  });

  it('GET /config hands out the capture defaults an administrator set', async () => {
    const t2 = await testApp({
      env: { SORTIE_RECORDING_FRAME_RATE: '10', SORTIE_RECORDING_VIDEO_BITRATE_KBPS: '3000' },
    });
    try {
      const body = (await (await t2.json('GET', '/api/recordings/config', undefined, t2.auth.user)).json()) as Record<
        string,
        unknown
      >;
      expect(body).toMatchObject({ frameRate: 10, videoBitsPerSecond: 3_000_000 });
    } finally {
      await t2.close();
    }
  });

  it('POST creates a recording owned by the caller', async () => {
    const r = await t.json(
      'POST',
      '/api/recordings',
      { sessionId: 'sess-42', mimeType: 'video/webm;codecs=vp9' },
      t.auth.user,
    );
    expect(r.status).toBe(201);
    const rec = (await r.json()) as Record<string, unknown>;
    expect(rec).toMatchObject({
      sessionId: 'sess-42',
      userId: 'u-1',
      userName: 'Ada Lovelace',
      status: 'recording',
      sizeBytes: 0,
      durationMs: null,
      completedAt: null,
      failureReason: null,
    });
    expect(typeof rec.createdAt).toBe('string');
  });

  it("GET lists only the caller's recordings, newest first, with keyset paging and filters", async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await create(t.auth.user, 'sess-page')).id);
    await create(t.auth.other, 'sess-page');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/recordings?sessionId=sess-page&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await t.json('GET', q, undefined, t.auth.user)).json()) as {
        items: Rec[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const item of page.items) expect(item.userId).toBe('u-1');
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());
    const failedOnly = (await (
      await t.json('GET', '/api/recordings?status=failed&sessionId=sess-page', undefined, t.auth.user)
    ).json()) as { items: Rec[] };
    expect(failedOnly.items).toEqual([]);
  });

  it('stop moves recording → uploading, is idempotent, and is 409 once ready or failed', async () => {
    const rec = await create();
    const s1 = await t.json('POST', `/api/recordings/${rec.id}/stop`, undefined, t.auth.user);
    expect(((await s1.json()) as Rec).status).toBe('uploading');
    const s2 = await t.json('POST', `/api/recordings/${rec.id}/stop`, undefined, t.auth.user);
    expect(((await s2.json()) as Rec).status).toBe('uploading');
    const done = await ready(randomBytes(10));
    await expectError(await t.json('POST', `/api/recordings/${done.id}/stop`, undefined, t.auth.user), 409, 'conflict');
  });

  it('fail discards stored parts, then parts/complete/download answer 409', async () => {
    const rec = await create();
    await sendPart(rec.id, 1, randomBytes(100));
    const f = await t.json('POST', `/api/recordings/${rec.id}/fail`, { reason: 'camera unplugged' }, t.auth.user);
    expect(f.status).toBe(200);
    expect(await f.json()).toMatchObject({ status: 'failed', failureReason: 'camera unplugged', sizeBytes: 0 });
    expect(await t.storage.listParts({ key: `${rec.id}.webm`, uploadId: null })).toEqual([]);
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 2, sizeBytes: 1 }, t.auth.user),
      409,
      'conflict',
    );
    await expectError(
      await t.json(
        'POST',
        `/api/recordings/${rec.id}/complete`,
        { parts: [{ partNumber: 1, etag: 'x' }] },
        t.auth.user,
      ),
      409,
      'conflict',
    );
    await expectError(
      await t.json('GET', `/api/recordings/${rec.id}/download`, undefined, t.auth.user),
      409,
      'conflict',
    );
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/download-url`, undefined, t.auth.user),
      409,
      'conflict',
    );
    const done = await ready(randomBytes(10));
    await expectError(
      await t.json('POST', `/api/recordings/${done.id}/fail`, { reason: 'x' }, t.auth.user),
      409,
      'conflict',
    );
  });

  it('download is 409 while recording, and streams the file once ready', async () => {
    const rec = await create();
    await expectError(
      await t.json('GET', `/api/recordings/${rec.id}/download`, undefined, t.auth.user),
      409,
      'conflict',
    );
    const bytes = randomBytes(5000);
    const done = await ready(bytes);
    const dl = await t.app.request(`/api/recordings/${done.id}/download`, { headers: t.auth.user });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('video/webm');
    expect(dl.headers.get('accept-ranges')).toBe('bytes');
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="recording-sess-routes-.*\.webm"$/);
    expect(Buffer.from(await dl.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('download-url gives a header-less URL that serves the file and ranges, and a tampered one is refused', async () => {
    const bytes = randomBytes(3000);
    const done = await ready(bytes);
    const r = await t.json('POST', `/api/recordings/${done.id}/download-url`, undefined, t.auth.user);
    expect(r.status).toBe(200);
    const { url, expiresAt } = (await r.json()) as { url: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    const whole = await t.app.request(url);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await t.app.request(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    const at = url.length - 10;
    await expectError(
      await t.app.request(url.slice(0, at) + (url[at] === 'A' ? 'B' : 'A') + url.slice(at + 1)),
      401,
      'unauthorized',
    );
  });

  it('answers 500 internal when storage lost a file, and never logs the token in its URL', async () => {
    const done = await ready(randomBytes(50));
    const { url } = (await (
      await t.json('POST', `/api/recordings/${done.id}/download-url`, undefined, t.auth.user)
    ).json()) as { url: string };
    // The finished recording's files (a folder of the parts' links and their manifest) are gone.
    await rm(path.join(t.storagePath, `${done.id}.webm.d`), { recursive: true });
    const res = await t.app.request(url);
    await expectError(res, 500, 'internal');
    const tokenInUrl = url.split('/').pop()!;
    const logged = JSON.stringify(t.logger.lines);
    expect(logged).toContain('unhandled error');
    expect(logged).not.toContain(tokenInUrl);
  });

  it('answers 404 when the recording is deleted between the lookup of its URL and the read of its file', async () => {
    const done = await ready(randomBytes(50));
    const { url } = (await (
      await t.json('POST', `/api/recordings/${done.id}/download-url`, undefined, t.auth.user)
    ).json()) as { url: string };
    // The delete lands while the download is under way: after the row was read, before the file is.
    const read = t.storage.read.bind(t.storage);
    t.storage.read = async (key, range) => {
      t.storage.read = read;
      expect((await t.json('DELETE', `/api/recordings/${done.id}`, undefined, t.auth.user)).status).toBe(204);
      return read(key, range);
    };
    try {
      await expectError(await t.app.request(url), 404, 'not_found');
    } finally {
      t.storage.read = read;
    }
  });

  it('DELETE removes the stored object and the row (204), then the recording is gone', async () => {
    const done = await ready(randomBytes(10));
    expect(await t.storage.stat(`${done.id}.webm`)).not.toBeNull();
    const d = await t.json('DELETE', `/api/recordings/${done.id}`, undefined, t.auth.user);
    expect(d.status).toBe(204);
    expect(await t.storage.stat(`${done.id}.webm`)).toBeNull();
    await expectError(await t.json('GET', `/api/recordings/${done.id}`, undefined, t.auth.user), 404, 'not_found');
    // Deleting an unfinished recording discards its parts too.
    const open = await create();
    await sendPart(open.id, 1, randomBytes(10));
    expect((await t.json('DELETE', `/api/recordings/${open.id}`, undefined, t.auth.user)).status).toBe(204);
    expect(await t.storage.listParts({ key: `${open.id}.webm`, uploadId: null })).toEqual([]);
  });

  it('answers 404 JSON for unknown routes', async () => {
    await expectError(await t.json('GET', '/api/nope', undefined, t.auth.user), 404, 'not_found');
  });
});

describe('size limit (1 MiB here)', () => {
  it('413 on a /parts request whose declared size takes the total over the limit; stored parts stay and complete works', async () => {
    const rec = await create();
    const first = randomBytes(LIMIT - 100);
    const etag = await sendPart(rec.id, 1, first);
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 2, sizeBytes: 101 }, t.auth.user),
      413,
      'payload_too_large',
    );
    await expectError(
      await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: LIMIT + 1 }, t.auth.user),
      413,
      'payload_too_large',
    );
    // Exactly up to the limit is fine.
    const lastBytes = randomBytes(100);
    const etag2 = await sendPart(rec.id, 2, lastBytes);
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      {
        durationMs: 5,
        parts: [
          { partNumber: 1, etag },
          { partNumber: 2, etag: etag2 },
        ],
      },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    expect(((await done.json()) as Rec).sizeBytes).toBe(LIMIT);
  });

  it('413 on a local PUT whose body is longer than its declared size, and the part is not stored', async () => {
    const rec = await create();
    const r = await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.user);
    const { url } = (await r.json()) as { url: string };
    // A body with a Content-Length over the size…
    await expectError(await t.app.request(url, { method: 'PUT', body: randomBytes(11) }), 413, 'payload_too_large');
    // …and a streamed body with no Content-Length that runs past it.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(randomBytes(8));
        c.enqueue(randomBytes(8));
        c.close();
      },
    });
    await expectError(
      await t.app.request(url, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit),
      413,
      'payload_too_large',
    );
    expect(await t.storage.listParts({ key: `${rec.id}.webm`, uploadId: null })).toEqual([]);
  });

  it('refuses (409) a part URL superseded by a smaller re-request, so the limit cannot be passed with it', async () => {
    // Part 1 is issued at nearly the limit, then re-requested small so that part 2 fits;
    // the first URL is still unexpired, but it no longer matches the reservation.
    const rec = await create();
    const big = randomBytes(LIMIT - 10);
    const r1 = await t.json(
      'POST',
      `/api/recordings/${rec.id}/parts`,
      { partNumber: 1, sizeBytes: big.length },
      t.auth.user,
    );
    const u1 = (await r1.json()) as { url: string };
    await t.json('POST', `/api/recordings/${rec.id}/parts`, { partNumber: 1, sizeBytes: 10 }, t.auth.user);
    await sendPart(rec.id, 2, randomBytes(20));
    await expectError(await t.app.request(u1.url, { method: 'PUT', body: big }), 409, 'conflict');
    const after = (await (await t.json('GET', `/api/recordings/${rec.id}`, undefined, t.auth.user)).json()) as Rec;
    expect(after.sizeBytes).toBe(20);
    expect((await t.storage.listParts({ key: `${rec.id}.webm`, uploadId: null })).map((p) => p.partNumber)).toEqual([
      2,
    ]);
  });
});
