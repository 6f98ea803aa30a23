/**
 * A probe of the per-user caps from outside: one user sends, all at once, far more
 * parts, thumbnails (new ones and re-sends) and markers than the caps allow, on two open
 * recordings and one that ended seconds ago, then once more after that one's minute is
 * over. Then the bytes actually kept are counted where they are kept (the storage folder,
 * or the S3 server's own files) and in the database: 0 bytes over
 * SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER (parts and thumbnails) and
 * SORTIE_RECORDING_MAX_MARKER_KB_PER_USER (markers). Runs on the local and the S3 backend.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TIMELINE_AFTER_END_MS } from '../src/timeline/service.js';
import { TEST_STORAGE, fakeClock, testApp, type TestApp } from './helpers.js';

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

const who = () => t.auth.user;
const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(n - 4)]);

async function create(): Promise<string> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 's', mimeType: 'video/webm;codecs=vp9' }, who());
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

/** A part's POST /parts and PUT: the status of the last answer. */
async function part(id: string, n: number, size: number): Promise<number> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber: n, sizeBytes: size }, who());
  if (r.status !== 200) return r.status;
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.send(url, { method: 'PUT', headers, body: randomBytes(size) });
  await put.arrayBuffer();
  return put.status;
}

async function thumb(id: string, offset: number, size: number): Promise<number> {
  const r = await t.app.request(`/api/recordings/${id}/thumbnails/${offset}`, {
    method: 'PUT',
    headers: { ...who(), 'content-type': 'image/jpeg' },
    body: jpeg(size),
  });
  await r.arrayBuffer();
  return r.status;
}

async function markers(id: string, at: number): Promise<number> {
  const batch = Array.from({ length: 3 }, (_, i) => ({
    offsetMs: at + i,
    label: `probe ${at + i}`,
    data: { note: 'x'.repeat(900) },
  }));
  const r = await t.json('POST', `/api/recordings/${id}/markers`, { markers: batch }, who());
  await r.arrayBuffer();
  return r.status;
}

async function sizesUnder(dir: string, keep: (file: string) => boolean): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = path.join(d, name);
      const s = await lstat(p).catch(() => null);
      if (s?.isDirectory()) await walk(p);
      else if (s?.isFile() && keep(p)) total += s.size;
    }
  };
  await walk(dir);
  return total;
}

/** Bytes kept in storage: the parts of the open recordings `open`, and every thumbnail. */
async function storedBytes(open: string[]): Promise<{ parts: number; thumbnails: number }> {
  const rows = await Promise.all(open.map((id) => t.service.recordings.rowById(id)));
  if (TEST_STORAGE === 's3') {
    const { sharedS3Server } = await import('./s3-server.js');
    const server = await sharedS3Server();
    const bucket = path.join(server.directory, server.bucket);
    let parts = 0;
    // s3rver keeps an upload's parts as files named by their number in a folder named by the upload id.
    for (const r of rows)
      parts += await sizesUnder(path.join(bucket, '._S3rver_uploads', r!.uploadId!), (f) => /\/\d+$/.test(f));
    const thumbnails = await sizesUnder(bucket, (f) => f.includes('.assets/') && f.endsWith('._S3rver_object'));
    return { parts, thumbnails };
  }
  let parts = 0;
  for (const r of rows) parts += await sizesUnder(path.join(t.storagePath, '.parts', r!.storageKey), () => true);
  const thumbnails = await sizesUnder(path.join(t.storagePath, '.assets'), () => true);
  return { parts, thumbnails };
}

/** What the database says is held: parts of open recordings, thumbnails of `counted`, markers of `counted`. */
async function databaseBytes(open: string[], counted: string[]) {
  const [r] = (await t.database.db.execute(sql`
    select
      (select coalesce(sum(greatest(p.declared_size, coalesce(p.stored_size, 0))), 0) from recording_parts p
        where p.recording_id in (${sql.join(
          open.map((id) => sql`${id}::uuid`),
          sql`, `,
        )}))::bigint as parts,
      (select coalesce(sum(size_bytes), 0) from recording_thumbnails where recording_id in (${sql.join(
        counted.map((id) => sql`${id}::uuid`),
        sql`, `,
      )}))::bigint as thumbnails,
      (select coalesce(sum(octet_length(label) + coalesce(octet_length(data::text), 0)), 0) from recording_markers
        where recording_id in (${sql.join(
          counted.map((id) => sql`${id}::uuid`),
          sql`, `,
        )}))::bigint as markers`)) as unknown as { parts: string; thumbnails: string; markers: string }[];
  return { parts: Number(r!.parts), thumbnails: Number(r!.thumbnails), markers: Number(r!.markers) };
}

it('stores 0 bytes over the caps, whatever is sent at once on every path', async () => {
  // An ended recording takes thumbnails and markers for a minute, counted meanwhile.
  const ended = await create();
  const r = await t.json('POST', `/api/recordings/${ended}/fail`, { reason: 'probe' }, who());
  expect(r.status).toBe(200);
  const a = await create();
  const b = await create();
  const open = [a, b];
  const all = [a, b, ended];

  let attempted = 0;
  const wave = (round: number) => {
    const tries: Promise<number>[] = [];
    for (let n = 1; n <= 6; n++)
      for (const id of open) {
        attempted += 150_000;
        tries.push(part(id, round * 10 + n, 150_000));
      }
    for (let i = 0; i < 12; i++)
      for (const id of all) {
        attempted += 60_000;
        // Every third one is a re-send at an offset already sent.
        tries.push(thumb(id, (round * 100 + (i % 3 === 2 ? i - 1 : i)) * 1000, 60_000));
      }
    for (let i = 0; i < 6; i++) for (const id of all) tries.push(markers(id, round * 1000 + i * 10));
    return Promise.all(tries);
  };

  const first = await wave(0);
  expect(
    first.every((s) => [200, 201, 204, 409, 413].includes(s)),
    String(first),
  ).toBe(true);
  expect(attempted).toBeGreaterThan(3 * CAP);
  const stored1 = await storedBytes(open);
  const db1 = await databaseBytes(open, all);
  // Parts and thumbnails reached the cap; nothing went over it, in storage or in the database.
  expect(stored1.parts + stored1.thumbnails).toBeGreaterThan(CAP - 150_000);
  expect(stored1.parts + stored1.thumbnails).toBeLessThanOrEqual(CAP);
  expect(db1.parts + db1.thumbnails).toBeLessThanOrEqual(CAP);
  // Every stored thumbnail is indexed, and every indexed one stored: the files are the rows.
  expect(stored1.thumbnails).toBe(db1.thumbnails);
  expect(db1.markers).toBeGreaterThan(MARKER_CAP / 2);
  expect(db1.markers).toBeLessThanOrEqual(MARKER_CAP);

  // The ended recording's minute is over: it takes nothing more, and what it holds no longer counts.
  clock.advance(TIMELINE_AFTER_END_MS);
  const endedThumbs = (await databaseBytes(open, [ended])).thumbnails;
  const second = await wave(1);
  expect(
    second.every((s) => [200, 201, 204, 409, 413].includes(s)),
    String(second),
  ).toBe(true);
  const stored2 = await storedBytes(open);
  const db2 = await databaseBytes(open, open);
  expect((await databaseBytes(open, [ended])).thumbnails).toBe(endedThumbs);
  expect(stored2.parts + stored2.thumbnails - endedThumbs).toBeLessThanOrEqual(CAP);
  expect(db2.parts + db2.thumbnails).toBeLessThanOrEqual(CAP);
  expect(db2.markers).toBeLessThanOrEqual(MARKER_CAP);
});
