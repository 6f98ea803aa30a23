/**
 * A recording's markers and thumbnails (docs/API.md "Markers and
 * thumbnails"): what each route accepts and refuses, who may add and who may
 * read, the caps per recording, and that a recording's delete (by its owner,
 * an admin or retention) takes its markers and thumbnails with it, rows and
 * stored files. Runs on the local and the S3 backend.
 */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingMarkers, recordingThumbnails } from '../src/db/schema.js';
import { signToken } from '../src/lib/signed-token.js';
import { SettingsService } from '../src/settings/service.js';
import {
  MAX_MARKERS_PER_RECORDING,
  MAX_MARKERS_PER_REQUEST,
  MAX_MARKER_DATA_BYTES,
  MAX_THUMBNAILS_PER_RECORDING,
  MAX_THUMBNAIL_BYTES,
} from '../src/timeline/schemas.js';
import { TimelineService, thumbnailName } from '../src/timeline/service.js';
import { createRecording, makeRecording } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

/** A JPEG as far as the service looks (its start-of-image marker), with random bytes after. */
const jpeg = (n = 3000) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(n - 4)]);

const postMarkers = (id: string, markers: unknown, who: Record<string, string> = t.auth.user) =>
  t.json('POST', `/api/recordings/${id}/markers`, { markers }, who);

const putThumb = (
  id: string,
  offset: number | string,
  body: Uint8Array,
  who: Record<string, string> = t.auth.user,
  type = 'image/jpeg',
) =>
  t.app.request(`/api/recordings/${id}/thumbnails/${offset}`, {
    method: 'PUT',
    headers: { ...who, 'content-type': type },
    body,
  });

async function markers(id: string, who = t.auth.user) {
  const r = await t.json('GET', `/api/recordings/${id}/markers`, undefined, who);
  return {
    status: r.status,
    body: (await r.json()) as { items: { offsetMs: number; label: string; source: string; data: unknown }[] },
  };
}

async function bytesOf(r: Response): Promise<Buffer> {
  return Buffer.from(await r.arrayBuffer());
}

describe('markers', () => {
  it('stores a batch with offsets, labels, sources and data, and lists them in offset order', async () => {
    const { id } = await createRecording(t);
    const r = await postMarkers(id, [
      { offsetMs: 5000, label: 'file opened', data: { path: '/etc/hosts' } },
      { offsetMs: 0, label: 'started', source: 'sdk' },
      { offsetMs: 2500, label: 'clipboard' },
    ]);
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ count: 3 });
    const { status, body } = await markers(id);
    expect(status).toBe(200);
    expect(body.items.map((m) => [m.offsetMs, m.label, m.source, m.data])).toEqual([
      [0, 'started', 'sdk', null],
      [2500, 'clipboard', 'app', null],
      [5000, 'file opened', 'app', { path: '/etc/hosts' }],
    ]);
  });

  it('takes markers only from the owner; the owner and admins read them, no one else', async () => {
    const { id } = await createRecording(t);
    expect((await postMarkers(id, [{ offsetMs: 1, label: 'mine' }])).status).toBe(201);
    expect((await postMarkers(id, [{ offsetMs: 1, label: 'x' }], t.auth.other)).status).toBe(404);
    expect((await postMarkers(id, [{ offsetMs: 1, label: 'x' }], t.auth.admin)).status).toBe(404);
    expect((await markers(id, t.auth.other)).status).toBe(404);
    const admin = await markers(id, t.auth.admin);
    expect(admin.status).toBe(200);
    expect(admin.body.items.map((m) => m.label)).toEqual(['mine']);
    expect((await t.app.request(`/api/recordings/${id}/markers`)).status).toBe(401);
  });

  it.each([
    ['no markers', []],
    [
      'too many in one request',
      Array.from({ length: MAX_MARKERS_PER_REQUEST + 1 }, (_, i) => ({ offsetMs: i, label: 'm' })),
    ],
    ['an empty label', [{ offsetMs: 0, label: '' }]],
    ['a label over 200 characters', [{ offsetMs: 0, label: 'x'.repeat(201) }]],
    ['a NUL in a label', [{ offsetMs: 0, label: 'a\u0000b' }]],
    ['a negative offset', [{ offsetMs: -1, label: 'm' }]],
    ['a fractional offset', [{ offsetMs: 1.5, label: 'm' }]],
    ['an unknown source', [{ offsetMs: 0, label: 'm', source: 'server' }]],
    ['an unknown field', [{ offsetMs: 0, label: 'm', colour: 'red' }]],
    ['data over the limit', [{ offsetMs: 0, label: 'm', data: { s: 'x'.repeat(MAX_MARKER_DATA_BYTES) } }]],
    ['a NUL in data', [{ offsetMs: 0, label: 'm', data: { s: 'a\u0000b' } }]],
  ])('refuses %s with a 400 that says why, and stores nothing of the batch', async (_name, batch) => {
    const { id } = await createRecording(t);
    const good = { offsetMs: 7, label: 'good one' };
    const r = await postMarkers(id, Array.isArray(batch) && batch.length > 0 ? [good, ...batch] : batch);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(/markers/);
    expect((await markers(id)).body.items).toEqual([]);
  });

  it(`keeps at most ${MAX_MARKERS_PER_RECORDING} per recording: the batch that would pass it is refused whole, the earlier ones stay`, async () => {
    const { id } = await createRecording(t);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ offsetMs: from + i, label: `m${from + i}` }));
    for (let i = 0; i < MAX_MARKERS_PER_RECORDING - 50; i += MAX_MARKERS_PER_REQUEST)
      expect(
        (await postMarkers(id, batch(i, Math.min(MAX_MARKERS_PER_REQUEST, MAX_MARKERS_PER_RECORDING - 50 - i)))).status,
      ).toBe(201);
    const over = await postMarkers(id, batch(5000, 51));
    expect(over.status).toBe(409);
    expect(((await over.json()) as { error: { message: string } }).error.message).toMatch(/at most 1000 markers/);
    expect((await markers(id)).body.items).toHaveLength(MAX_MARKERS_PER_RECORDING - 50);
    expect((await postMarkers(id, batch(5000, 50))).status).toBe(201);
    expect((await markers(id)).body.items).toHaveLength(MAX_MARKERS_PER_RECORDING);
  });

  it('400s data holding a lone UTF-16 surrogate (jsonb refuses it: it was a 500) and stores nothing', async () => {
    const { id } = await createRecording(t);
    const raw = (markersJson: string) =>
      t.json('POST', `/api/recordings/${id}/markers`, `{"markers": ${markersJson}}`, t.auth.user);
    for (const data of ['"\\udc00x"', '{"k\\ud800": 1}', '["a\\ud83d"]']) {
      const r = await raw(`[{"offsetMs": 1, "label": "m", "data": ${data}}]`);
      expect(r.status, data).toBe(400);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/surrogate/);
    }
    // The same in a label was stored as U+FFFD in its place (text columns: the driver encodes UTF-8).
    const label = await raw('[{"offsetMs": 1, "label": "a\\ud800"}]');
    expect(label.status).toBe(400);
    expect(((await label.json()) as { error: { message: string } }).error.message).toMatch(/label: .*surrogate/);
    expect((await markers(id)).body.items).toHaveLength(0);
    // A whole pair, and text that only looks like an escape (a backslash, then "u0000"), are kept as sent.
    const kept = ['\ud83d\ude00', 'C:\\u0000\\udc00'];
    expect(
      (
        await postMarkers(
          id,
          kept.map((data, i) => ({ offsetMs: i, label: 'm', data })),
        )
      ).status,
    ).toBe(201);
    expect((await markers(id)).body.items.map((m) => m.data)).toEqual(kept);
  });

  it('404s a recording that does not exist and 400s an id that is not a UUID', async () => {
    expect((await postMarkers('00000000-0000-4000-8000-000000000000', [{ offsetMs: 0, label: 'm' }])).status).toBe(404);
    expect((await postMarkers('nope', [{ offsetMs: 0, label: 'm' }])).status).toBe(400);
  });
});

describe('thumbnails', () => {
  it('stores thumbnails, makes the earliest the poster, and indexes them with URLs an <img> can load', async () => {
    const { id } = await createRecording(t);
    const at10 = jpeg(4000);
    const at0 = jpeg(2500);
    expect((await putThumb(id, 10_000, at10)).status).toBe(204);
    let rec = (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as {
      posterOffsetMs: number | null;
    };
    expect(rec.posterOffsetMs).toBe(10_000);
    expect((await putThumb(id, 0, at0)).status).toBe(204);
    rec = (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as {
      posterOffsetMs: number | null;
    };
    expect(rec.posterOffsetMs).toBe(0);

    const idx = await t.json('GET', `/api/recordings/${id}/thumbnails`, undefined, t.auth.user);
    expect(idx.status).toBe(200);
    const index = (await idx.json()) as { items: { offsetMs: number; url: string }[]; expiresAt: string };
    expect(index.items.map((i) => i.offsetMs)).toEqual([0, 10_000]);
    expect(Date.parse(index.expiresAt)).toBeGreaterThan(Date.now());
    // The URL needs no header.
    const img = await t.app.request(index.items[1]!.url);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(img.headers.get('content-length')).toBe('4000');
    expect((await bytesOf(img)).equals(at10)).toBe(true);
    // The bearer route serves the same bytes (the lists' poster).
    const poster = await t.app.request(`/api/recordings/${id}/thumbnails/0`, { headers: t.auth.user });
    expect((await bytesOf(poster)).equals(at0)).toBe(true);
  });

  it('replaces a thumbnail sent again at the same offset', async () => {
    const { id } = await createRecording(t);
    const second = jpeg(1000);
    expect((await putThumb(id, 0, jpeg(900))).status).toBe(204);
    expect((await putThumb(id, 0, second)).status).toBe(204);
    const r = await t.app.request(`/api/recordings/${id}/thumbnails/0`, { headers: t.auth.user });
    expect((await bytesOf(r)).equals(second)).toBe(true);
  });

  it('has no poster and an empty index when no thumbnail was sent', async () => {
    const { id } = await createRecording(t);
    const rec = (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as {
      posterOffsetMs: number | null;
    };
    expect(rec.posterOffsetMs).toBeNull();
    const idx = (await (await t.json('GET', `/api/recordings/${id}/thumbnails`, undefined, t.auth.user)).json()) as {
      items: unknown[];
    };
    expect(idx.items).toEqual([]);
    expect((await t.app.request(`/api/recordings/${id}/thumbnails/0`, { headers: t.auth.user })).status).toBe(404);
  });

  it('takes thumbnails only from the owner; the owner and admins read them, no one else', async () => {
    const { id } = await createRecording(t);
    expect((await putThumb(id, 0, jpeg())).status).toBe(204);
    expect((await putThumb(id, 0, jpeg(), t.auth.other)).status).toBe(404);
    expect((await putThumb(id, 0, jpeg(), t.auth.admin)).status).toBe(404);
    expect((await t.app.request(`/api/recordings/${id}/thumbnails/0`, { headers: t.auth.other })).status).toBe(404);
    expect((await t.json('GET', `/api/recordings/${id}/thumbnails`, undefined, t.auth.other)).status).toBe(404);
    expect((await t.app.request(`/api/recordings/${id}/thumbnails/0`, { headers: t.auth.admin })).status).toBe(200);
    expect((await t.app.request(`/api/recordings/${id}/thumbnails/0`)).status).toBe(401);
  });

  it('refuses a forged or foreign thumbnail URL', async () => {
    const { id } = await createRecording(t);
    expect((await putThumb(id, 0, jpeg())).status).toBe(204);
    const idx = (await (await t.json('GET', `/api/recordings/${id}/thumbnails`, undefined, t.auth.user)).json()) as {
      items: { url: string }[];
    };
    const url = idx.items[0]!.url;
    expect((await t.app.request(url.replace(/\/api\/thumbnails\/[^/]+/, '/api/thumbnails/forged'))).status).toBe(401);
    // A download token of the same recording, signed with the same key, is not a thumbnail token.
    const key = await new SettingsService(t.database.db, { now: () => new Date() }).signingKey();
    const fileToken = await signToken(key, { typ: 'file', rid: id }, new Date(Date.now() + 60_000));
    expect((await t.app.request(`/api/thumbnails/${fileToken}/0`)).status).toBe(401);
    const thumbsToken = await signToken(key, { typ: 'thumbs', rid: id }, new Date(Date.now() + 60_000));
    expect((await t.app.request(`/api/thumbnails/${thumbsToken}/0`)).status).toBe(200);
    expect((await t.app.request(url.replace(/\/0$/, '/abc'))).status).toBe(400);
    expect((await t.app.request(url.replace(/\/0$/, '/5'))).status).toBe(404);
  });

  it.each([
    ['a body that is not a JPEG', () => Buffer.from('GIF89a........'), 'image/jpeg', 400, /JPEG/],
    ['another Content-Type', () => jpeg(), 'image/png', 400, /image\/jpeg/],
    ['a body over the limit', () => jpeg(MAX_THUMBNAIL_BYTES + 1), 'image/jpeg', 413, /at most/],
  ])('refuses %s', async (_n, body, type, status, message) => {
    const { id } = await createRecording(t);
    const r = await putThumb(id, 0, body(), t.auth.user, type);
    expect(r.status).toBe(status);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(message);
    expect(
      await t.database.db.select().from(recordingThumbnails).where(eq(recordingThumbnails.recordingId, id)),
    ).toEqual([]);
  });

  // Not canonical decimal ("1e3", "0x10", " 7", "07"): each was taken as another name of an offset.
  it.each(['-1', '1.5', 'abc', '2147483648', '1e3', '0x10', '%207', '07', '99999999999'])(
    'refuses the offset %s',
    async (offset) => {
      const { id } = await createRecording(t);
      expect((await putThumb(id, offset, jpeg())).status).toBe(400);
      expect((await t.app.request(`/api/recordings/${id}/thumbnails/${offset}`, { headers: t.auth.user })).status).toBe(
        400,
      );
    },
  );

  it('a chunked body over the limit (no Content-Length) is refused by the thumbnail limit, not read to 2 MiB', async () => {
    const { id } = await createRecording(t);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= 4 * 1024 * 1024) return c.close();
        pulled += 16 * 1024;
        c.enqueue(jpeg(16 * 1024));
      },
    });
    const r = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(413);
    // The app-wide 2 MiB JSON limit read it first (buffering it whole) and answered "over 2 MiB".
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/thumbnail is at most 65536/);
    expect(pulled).toBeLessThan(1024 * 1024);
    expect(
      await t.database.db.select().from(recordingThumbnails).where(eq(recordingThumbnails.recordingId, id)),
    ).toEqual([]);
  });

  it(`keeps at most ${MAX_THUMBNAILS_PER_RECORDING} per recording, and still replaces one it holds`, async () => {
    const { id } = await createRecording(t);
    // The rows are made directly: 2000 PUTs would only make the test slow.
    const now = new Date();
    const rows = Array.from({ length: MAX_THUMBNAILS_PER_RECORDING }, (_, i) => ({
      recordingId: id,
      offsetMs: (i + 1) * 10_000,
      sizeBytes: 100,
      createdAt: now,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await t.database.db.insert(recordingThumbnails).values(rows.slice(i, i + 500));
    const over = await putThumb(id, 5, jpeg());
    expect(over.status).toBe(409);
    const row = await t.service.recordings.rowById(id);
    expect(await t.storage.readAsset(row!.storageKey, thumbnailName(5))).toBeNull();
    expect((await putThumb(id, 10_000, jpeg())).status).toBe(204);
  });
});

async function counts(id: string) {
  const [m] = await t.database.db
    .select({ n: sql<string>`count(*)` })
    .from(recordingMarkers)
    .where(eq(recordingMarkers.recordingId, id));
  const [th] = await t.database.db
    .select({ n: sql<string>`count(*)` })
    .from(recordingThumbnails)
    .where(eq(recordingThumbnails.recordingId, id));
  return { markers: Number(m!.n), thumbnails: Number(th!.n) };
}

describe('delete', () => {
  it.each([
    ['its owner', 'user'],
    ['an admin', 'admin'],
  ] as const)('a recording deleted by %s takes its markers and thumbnails with it, rows and files', async (_n, who) => {
    const made = await makeRecording(t, 'ready');
    expect((await postMarkers(made.id, [{ offsetMs: 0, label: 'started', source: 'sdk' }])).status).toBe(201);
    expect((await putThumb(made.id, 0, jpeg())).status).toBe(204);
    expect((await putThumb(made.id, 10_000, jpeg())).status).toBe(204);
    const idx = (await (
      await t.json('GET', `/api/recordings/${made.id}/thumbnails`, undefined, t.auth.user)
    ).json()) as {
      items: { url: string }[];
    };
    expect(await counts(made.id)).toEqual({ markers: 1, thumbnails: 2 });
    expect((await t.json('DELETE', `/api/recordings/${made.id}`, undefined, t.auth[who])).status).toBe(204);
    expect(await counts(made.id)).toEqual({ markers: 0, thumbnails: 0 });
    expect(await t.storage.readAsset(made.storageKey, thumbnailName(0))).toBeNull();
    expect(await t.storage.readAsset(made.storageKey, thumbnailName(10_000))).toBeNull();
    expect((await t.app.request(idx.items[0]!.url)).status).toBe(404);
  });
});

describe('a delete racing an upload', () => {
  it('a thumbnail or marker for a recording deleted after its route read it is refused (404) and leaves nothing', async () => {
    const made = await makeRecording(t, 'ready');
    const row = (await t.service.recordings.rowById(made.id))!;
    const timeline = new TimelineService(t.database.db, t.storage, { now: () => new Date() });
    await t.service.recordings.lifecycle.deleteRow(row);
    await expect(timeline.putThumbnail(row, 0, jpeg())).rejects.toMatchObject({ code: 'not_found' });
    await expect(timeline.addMarkers(row, [{ offsetMs: 0, label: 'm', source: 'app' }])).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await t.storage.readAsset(row.storageKey, thumbnailName(0))).toBeNull();
  });
});

describe('retention', () => {
  it('a recording deleted by retention takes its markers and thumbnails with it', async () => {
    const clock = fakeClock();
    const r = await testApp({ clock, env: { SORTIE_RECORDING_RETENTION_DAYS: '1' } });
    try {
      const made = await makeRecording(r, 'ready');
      expect(
        (
          await r.json(
            'POST',
            `/api/recordings/${made.id}/markers`,
            { markers: [{ offsetMs: 0, label: 'm' }] },
            r.auth.user,
          )
        ).status,
      ).toBe(201);
      const put = await r.app.request(`/api/recordings/${made.id}/thumbnails/0`, {
        method: 'PUT',
        headers: { ...r.auth.user, 'content-type': 'image/jpeg' },
        body: jpeg(),
      });
      expect(put.status).toBe(204);
      clock.advance(2 * 24 * 60 * 60 * 1000);
      const run = await r.json('POST', '/api/admin/retention/run', undefined, r.auth.admin);
      expect(await run.json()).toEqual({ deleted: 1 });
      const left = await r.database.db.select().from(recordingMarkers).where(eq(recordingMarkers.recordingId, made.id));
      const thumbs = await r.database.db
        .select()
        .from(recordingThumbnails)
        .where(eq(recordingThumbnails.recordingId, made.id));
      expect([left, thumbs]).toEqual([[], []]);
      expect(await r.storage.readAsset(made.storageKey, thumbnailName(0))).toBeNull();
    } finally {
      await r.close();
    }
  });
});

describe('admin filter by marker text', () => {
  it('lists exactly the recordings with a marker containing the text, case-insensitively, wildcards literal', async () => {
    const session = `marker-filter-${randomBytes(4).toString('hex')}`;
    const a = await createRecording(t, 'user', session);
    const b = await createRecording(t, 'other', session);
    const c = await createRecording(t, 'user', session);
    expect((await postMarkers(a.id, [{ offsetMs: 0, label: 'File opened: report_50%.pdf' }])).status).toBe(201);
    expect((await postMarkers(b.id, [{ offsetMs: 0, label: 'privilege elevated' }], t.auth.other)).status).toBe(201);
    expect((await postMarkers(c.id, [{ offsetMs: 0, label: 'fileXopened' }])).status).toBe(201);
    const ids = async (marker: string) => {
      const q = new URLSearchParams({ sessionId: session, marker });
      const r = await t.json('GET', `/api/admin/recordings?${q}`, undefined, t.auth.admin);
      expect(r.status).toBe(200);
      return ((await r.json()) as { items: { id: string }[] }).items.map((i) => i.id).sort();
    };
    expect(await ids('FILE OPENED')).toEqual([a.id]);
    expect(await ids('file')).toEqual([a.id, c.id].sort());
    expect(await ids('elevated')).toEqual([b.id]);
    expect(await ids('50%')).toEqual([a.id]);
    expect(await ids('file_opened')).toEqual([]);
    expect(await ids('%')).toEqual([a.id]);
    expect(await ids('nothing like it')).toEqual([]);
    const bad = await t.json('GET', `/api/admin/recordings?marker=${'x'.repeat(201)}`, undefined, t.auth.admin);
    expect(bad.status).toBe(400);
  });
});
