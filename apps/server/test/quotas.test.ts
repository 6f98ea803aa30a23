/**
 * The per-user caps on what a recording's timeline stores: thumbnails count toward
 * SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER with the parts (both ways: a thumbnail past it
 * is refused, and a part counts the thumbnails), a re-sent thumbnail replaces, a recording
 * takes thumbnails and markers only while open and for a minute after its end, and the
 * markers of a user's open recordings are capped by SORTIE_RECORDING_MAX_MARKER_KB_PER_USER.
 * Runs on the local and the S3 backend.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMELINE_AFTER_END_MS, thumbnailName } from '../src/timeline/service.js';
import { fakeClock, testApp, token, type TestApp } from './helpers.js';

const CAP = 1024 * 1024;
const MARKER_CAP = 8 * 1024;

let t: TestApp;
const clock = fakeClock();
beforeAll(async () => {
  t = await testApp({
    clock,
    env: { SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER: '1', SORTIE_RECORDING_MAX_MARKER_KB_PER_USER: '8' },
  });
});
afterAll(async () => {
  await t?.close();
});

/** A user of their own for each test: the caps are per user. */
async function newUser(): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await token({ sub: `q-${randomBytes(4).toString('hex')}` })}` };
}

const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(n - 4)]);

async function create(who: Record<string, string>): Promise<string> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 's', mimeType: 'video/webm;codecs=vp9' }, who);
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

/** POST /parts for part `n` of `size` bytes: the answer. */
const requestPart = (who: Record<string, string>, id: string, n: number, size: number) =>
  t.json('POST', `/api/recordings/${id}/parts`, { partNumber: n, sizeBytes: size }, who);

async function uploadPart(who: Record<string, string>, id: string, n: number, size: number): Promise<string> {
  const r = await requestPart(who, id, n, size);
  expect(r.status).toBe(200);
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.send(url, { method: 'PUT', headers, body: randomBytes(size) });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

const putThumb = (who: Record<string, string>, id: string, offset: number, body: Uint8Array) =>
  t.app.request(`/api/recordings/${id}/thumbnails/${offset}`, {
    method: 'PUT',
    headers: { ...who, 'content-type': 'image/jpeg' },
    body,
  });

const postMarkers = (who: Record<string, string>, id: string, markers: unknown[]) =>
  t.json('POST', `/api/recordings/${id}/markers`, { markers }, who);

async function thumbnailRows(id: string): Promise<{ offset_ms: number; size_bytes: number }[]> {
  return (await t.database.db.execute(
    sql`select offset_ms, size_bytes from recording_thumbnails where recording_id = ${id} order by offset_ms`,
  )) as unknown as { offset_ms: number; size_bytes: number }[];
}

async function storedThumbnail(id: string, offset: number): Promise<Buffer | null> {
  const row = await t.service.recordings.rowById(id);
  const body = await t.storage.readAsset(row!.storageKey, thumbnailName(offset));
  if (!body) return null;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Bytes of a user's markers as the cap counts them (label and data as JSON text), every recording. */
async function markerBytes(userSub: string): Promise<number> {
  const [r] = (await t.database.db.execute(sql`
    select coalesce(sum(octet_length(m.label) + coalesce(octet_length(m.data::text), 0)), 0)::bigint as n
    from recording_markers m join recordings o on o.id = m.recording_id where o.user_id = ${userSub}`)) as unknown as {
    n: string;
  }[];
  return Number(r!.n);
}

const subOf = (who: Record<string, string>) =>
  JSON.parse(Buffer.from(who.authorization!.split('.')[1]!, 'base64url').toString()).sub as string;

describe('thumbnails and the per-user reserve', () => {
  it('refuses a thumbnail past the reserve the parts left (413) and stores nothing of it; a re-send at the same offset replaces', async () => {
    const who = await newUser();
    const a = await create(who);
    const b = await create(who);
    for (let n = 1; n <= 4; n++) await uploadPart(who, a, n, 250_000);
    // 1 000 000 of 1 048 576 reserved by parts: 48 576 left.
    expect((await putThumb(who, b, 0, jpeg(40_000))).status).toBe(204);
    const over = await putThumb(who, b, 10_000, jpeg(10_000));
    expect(over.status).toBe(413);
    expect(((await over.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining(`limit of ${CAP} bytes`),
    });
    expect(await storedThumbnail(b, 10_000)).toBeNull();
    // In place of the 40 000 bytes at 0, not beside them: 1 045 000 in all.
    const again = jpeg(45_000);
    expect((await putThumb(who, b, 0, again)).status).toBe(204);
    expect(await thumbnailRows(b)).toEqual([{ offset_ms: 0, size_bytes: 45_000 }]);
    expect((await storedThumbnail(b, 0))!.equals(again)).toBe(true);
  });

  it('counts the thumbnails when a part is requested', async () => {
    const who = await newUser();
    const a = await create(who);
    for (let i = 0; i < 8; i++) expect((await putThumb(who, a, i * 1000, jpeg(60_000))).status).toBe(204);
    // 480 000 bytes of thumbnails: a part of 600 000 would pass the 1 048 576.
    expect((await requestPart(who, a, 1, 600_000)).status).toBe(413);
    expect((await requestPart(who, a, 1, 560_000)).status).toBe(200);
  });
});

describe('a recording takes thumbnails and markers while open and for a minute after its end', () => {
  it.each(['complete', 'fail'] as const)('then refuses both with 409 (%s)', async (how) => {
    const who = await newUser();
    const id = await create(who);
    const etag = await uploadPart(who, id, 1, 3000);
    const end =
      how === 'complete'
        ? await t.json(
            'POST',
            `/api/recordings/${id}/complete`,
            { durationMs: 1000, parts: [{ partNumber: 1, etag }] },
            who,
          )
        : await t.json('POST', `/api/recordings/${id}/fail`, { reason: 'test' }, who);
    expect(end.status).toBe(200);
    clock.advance(TIMELINE_AFTER_END_MS - 1000);
    // The SDK's last ones, sent as it stops.
    expect((await putThumb(who, id, 5000, jpeg(3000))).status).toBe(204);
    expect((await postMarkers(who, id, [{ offsetMs: 5000, label: 'stopped' }])).status).toBe(201);
    clock.advance(1000);
    const late = await putThumb(who, id, 6000, jpeg(3000));
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { message: string } }).error.message).toMatch(
      /takes thumbnails only while it is open and for 60 s after it ends/,
    );
    expect(await storedThumbnail(id, 6000)).toBeNull();
    const lateMarker = await postMarkers(who, id, [{ offsetMs: 6000, label: 'late' }]);
    expect(lateMarker.status).toBe(409);
    expect(((await lateMarker.json()) as { error: { message: string } }).error.message).toMatch(/takes markers only/);
    // A recording stopped but not yet complete is still open.
    const open = await create(who);
    expect((await t.json('POST', `/api/recordings/${open}/stop`, undefined, who)).status).toBe(200);
    clock.advance(10 * TIMELINE_AFTER_END_MS);
    expect((await putThumb(who, open, 0, jpeg(3000))).status).toBe(204);
  });
});

describe('the per-user cap on markers', () => {
  it('refuses the batch that would pass it (413) whole, across the user’s open recordings; an ended one stops counting', async () => {
    const who = await newUser();
    const sub = subOf(who);
    const a = await create(who);
    const b = await create(who);
    // About 1 000 bytes a marker: a label and data as JSON text.
    const batch = (n: number, at: number) =>
      Array.from({ length: n }, (_, i) => ({ offsetMs: at + i, label: `m${at + i}`, data: { note: 'x'.repeat(960) } }));
    expect((await postMarkers(who, a, batch(4, 0))).status).toBe(201);
    expect((await postMarkers(who, b, batch(3, 100))).status).toBe(201);
    const before = await markerBytes(sub);
    expect(before).toBeLessThanOrEqual(MARKER_CAP);
    const over = await postMarkers(who, b, batch(2, 200));
    expect(over.status).toBe(413);
    expect(((await over.json()) as { error: { message: string } }).error.message).toContain(
      `limit of ${MARKER_CAP} bytes`,
    );
    expect(await markerBytes(sub)).toBe(before);
    // Another user is not held back by this one.
    const someone = await newUser();
    expect((await postMarkers(someone, await create(someone), batch(2, 0))).status).toBe(201);
    // Once `a` ended more than a minute ago, its markers no longer count.
    expect((await t.json('POST', `/api/recordings/${a}/fail`, { reason: 'test' }, who)).status).toBe(200);
    clock.advance(TIMELINE_AFTER_END_MS);
    expect((await postMarkers(who, b, batch(2, 200))).status).toBe(201);
  });
});
