/**
 * (extension) The recording's parts URL on the local backend: a part
 * in one request, `PUT ${partsUrl.url}/${partNumber}`, its size the
 * Content-Length. The PUT makes POST /parts's reservation (same checks, same
 * limits, before a byte is read) and stores the part as a part URL does.
 * Runs over a real listening socket (a body refused before it is read, a
 * request without Content-Length). Local only (vitest.config.ts): S3 hands out
 * no parts URL (test/s3-presigned-urls.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../src/lib/signed-token.js';
import { testApp, type TestApp, type TestAppOptions } from './helpers.js';

const MiB = 1024 * 1024;

interface PartsUrl {
  url: string;
  method: string;
  headers: Record<string, string>;
  expiresAt: string;
}

let t: TestApp;
let server: ServerType | undefined;
let base = '';

afterEach(async () => {
  if (server) await new Promise<void>((done) => server!.close(() => done()));
  server = undefined;
  await t?.close();
});

async function start(opts: TestAppOptions = {}): Promise<void> {
  t = await testApp(opts);
  await new Promise<void>((resolve) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

async function api(method: string, p: string, body?: unknown, headers = t.auth.user): Promise<Response> {
  return fetch(base + p, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
}

async function create(): Promise<{ id: string; partsUrl?: PartsUrl }> {
  const r = await api('POST', '/api/recordings', { sessionId: 'parts-url', mimeType: 'video/webm' });
  expect(r.status, await r.clone().text()).toBe(201);
  return (await r.json()) as { id: string; partsUrl?: PartsUrl };
}

/** The parts URL of a new recording, on this test's origin. */
async function createWithPartsUrl(): Promise<{ id: string; url: string; headers: Record<string, string> }> {
  const rec = await create();
  expect(rec.partsUrl, 'the local backend hands out a parts URL').toBeDefined();
  return { id: rec.id, url: rec.partsUrl!.url, headers: rec.partsUrl!.headers };
}

function put(url: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'PUT', body: bytes, headers });
}

async function complete(id: string, etags: string[]): Promise<Response> {
  return api('POST', `/api/recordings/${id}/complete`, {
    durationMs: 1000,
    parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  });
}

async function partFiles(id: string): Promise<string[]> {
  return readdir(path.join(t.storagePath, '.parts', `${id}.webm`)).catch(() => []);
}

/** A raw request: its headers exactly as given (fetch always sends a Content-Length for a byte body). */
function raw(
  url: string,
  headers: Record<string, string>,
  chunks: Buffer[],
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('the parts URL (local backend)', () => {
  it('stores each part in one PUT; the parts complete into the bytes sent, in order', async () => {
    await start();
    const { id, url, headers } = await createWithPartsUrl();
    const parts = [randomBytes(MiB), randomBytes(300_000), randomBytes(17)];
    const etags: string[] = [];
    // Out of order, as parallel uploads land.
    for (const n of [2, 1, 3]) {
      const r = await put(`${url}/${n}`, parts[n - 1]!, headers);
      expect(r.status, await r.clone().text()).toBe(200);
      etags[n - 1] = r.headers.get('etag')!;
      expect(etags[n - 1]).toMatch(/^"[0-9a-f-]+"$/);
    }
    const rec = (await (await api('GET', `/api/recordings/${id}`)).json()) as { sizeBytes: number };
    expect(rec.sizeBytes).toBe(MiB + 300_000 + 17);
    const done = await complete(id, etags);
    expect(done.status, await done.clone().text()).toBe(200);
    const file = Buffer.from(await (await api('GET', `/api/recordings/${id}/download`)).arrayBuffer());
    expect(file.equals(Buffer.concat(parts))).toBe(true);
  });

  it('a part sent again through it replaces the earlier one: one file, counted once', async () => {
    await start();
    const { id, url } = await createWithPartsUrl();
    let last = '';
    let bytes = Buffer.alloc(0);
    for (const size of [MiB, 1000, 5000]) {
      bytes = randomBytes(size);
      const r = await put(`${url}/1`, bytes);
      expect(r.status).toBe(200);
      last = r.headers.get('etag')!;
    }
    expect(await partFiles(id)).toHaveLength(1);
    const rec = (await (await api('GET', `/api/recordings/${id}`)).json()) as { sizeBytes: number };
    expect(rec.sizeBytes).toBe(5000);
    expect((await complete(id, [last])).status).toBe(200);
  });

  it('holds the size limit before a byte is read: 413, nothing stored, the recording still completes', async () => {
    await start({ env: { SORTIE_RECORDING_MAX_SIZE_MB: '1' } });
    const { id, url } = await createWithPartsUrl();
    const first = await put(`${url}/1`, randomBytes(MiB - 10));
    expect(first.status).toBe(200);
    // 2 MiB declared: refused from its Content-Length, before its body (the connection is closed, not read).
    const over = await raw(`${url}/2`, { 'content-length': String(2 * MiB) }, [randomBytes(1000)]);
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body).error.code).toBe('payload_too_large');
    expect(await partFiles(id)).toHaveLength(1);
    expect((await complete(id, [first.headers.get('etag')!])).status).toBe(200);
  });

  it('answers 400 without a Content-Length, or with a part number out of range, and stores nothing', async () => {
    await start();
    const { id, url } = await createWithPartsUrl();
    const chunked = await raw(`${url}/1`, { 'transfer-encoding': 'chunked' }, [randomBytes(100)]);
    expect(chunked.status).toBe(400);
    expect(chunked.body).toMatch(/Content-Length/);
    for (const n of ['0', '10001', 'x', '1.5', '-1', '01']) {
      const r = await put(`${url}/${n}`, randomBytes(10));
      expect(r.status, n).toBe(400);
    }
    const empty = await put(`${url}/1`, new Uint8Array(0));
    expect(empty.status).toBe(400);
    expect(await partFiles(id)).toHaveLength(0);
  });

  it('refuses a forged, expired or other kind of token (401), and a closed recording (409, no file left)', async () => {
    await start();
    const { id, url } = await createWithPartsUrl();
    const token = url.split('/').pop()!;
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await put(`${base}/api/uploads/${forged}/1`, randomBytes(10))).status).toBe(401);
    const key = `${id}.webm`;
    const expired = await signToken(
      t.signingKey,
      { typ: 'parts', rid: id, uid: 'u-1', key },
      new Date(Date.now() - 1000),
    );
    expect((await put(`${base}/api/uploads/${expired}/1`, randomBytes(10))).status).toBe(401);
    // A download token is not an upload capability.
    const file = await signToken(t.signingKey, { typ: 'file', rid: id }, new Date(Date.now() + 60_000));
    expect((await put(`${base}/api/uploads/${file}/1`, randomBytes(10))).status).toBe(401);
    // Signed for another user: the recording is not theirs (404), nothing stored.
    const other = await signToken(
      t.signingKey,
      { typ: 'parts', rid: id, uid: 'u-2', key },
      new Date(Date.now() + 60_000),
    );
    expect((await put(`${base}/api/uploads/${other}/1`, randomBytes(10))).status).toBe(404);
    expect(await partFiles(id)).toHaveLength(0);

    const r1 = await put(`${url}/1`, randomBytes(100));
    expect((await complete(id, [r1.headers.get('etag')!])).status).toBe(200);
    const late = await put(`${url}/2`, randomBytes(100));
    expect(late.status).toBe(409);
    expect(await partFiles(id)).toHaveLength(0);
  });

  it('a body stalled after its headers does not hold a beacon-ended recording open (ready in seconds)', async () => {
    await start();
    const rec = (await (
      await api('POST', '/api/recordings', { sessionId: 'stall', mimeType: 'video/webm' })
    ).json()) as { id: string; endUrl: string; partsUrl: PartsUrl };
    const first = randomBytes(3000);
    expect((await put(`${rec.partsUrl.url}/1`, first)).status).toBe(200);
    // What Chromium was seen to send for a keepalive PUT as its tab closed: the headers, then no byte.
    const stalled = http.request(`${rec.partsUrl.url}/2`, { method: 'PUT', headers: { 'content-length': '10' } });
    const answered = new Promise<number>((resolve) => {
      stalled.on('response', (res) => resolve(res.statusCode ?? 0));
      stalled.on('error', () => resolve(-1));
    });
    stalled.flushHeaders();
    await new Promise((r) => setTimeout(r, 300));
    expect(t.service.recordings.gate.busy(rec.id)).toBe(true);
    expect((await fetch(rec.endUrl, { method: 'POST', body: 'end' })).status).toBe(202);
    const until = Date.now() + 15_000;
    let status = '';
    while (Date.now() < until) {
      status = ((await (await api('GET', `/api/recordings/${rec.id}`)).json()) as { status: string }).status;
      if (status !== 'recording' && status !== 'uploading') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('ready');
    const done = (await (await api('GET', `/api/recordings/${rec.id}`)).json()) as { sizeBytes: number };
    expect(done.sizeBytes).toBe(first.length);
    // Should its bytes come after all, the recording is closed: 409, and nothing of them is kept.
    stalled.end(randomBytes(10));
    expect(await answered).toBe(409);
    t.service.jobs.sweeper.stopPending();
  });

  it('counts its parts in the metrics like the part URL’s, under its route pattern, no token in a label', async () => {
    await start();
    const { url } = await createWithPartsUrl();
    expect((await put(`${url}/1`, randomBytes(1000))).status).toBe(200);
    expect((await put(`${url}/2`, randomBytes(24))).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name.replace(/[{}"/:.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('sortie_upload_parts_received_total')).toBe(2);
    expect(value('sortie_upload_bytes_received_total')).toBe(1024);
    expect(value('sortie_http_requests_total{method="PUT",route="/api/uploads/:token/:partNumber",status="200"}')).toBe(
      2,
    );
    expect(text).not.toContain(url.split('/').pop()!);
  });

  it('is renewed by every POST /parts answer', async () => {
    await start();
    const { id } = await createWithPartsUrl();
    const r = await api('POST', `/api/recordings/${id}/parts`, { partNumber: 1, sizeBytes: 10 });
    const target = (await r.json()) as { partsUrl?: PartsUrl };
    expect(target.partsUrl?.url).toMatch(/\/api\/uploads\/[^/]+$/);
    expect(Date.parse(target.partsUrl!.expiresAt)).toBeGreaterThan(Date.now() + 60_000);
    expect((await put(`${target.partsUrl!.url}/2`, randomBytes(10))).status).toBe(200);
  });

  it('commits the reservation without waiting for its WAL flush on local, and with it where it is the stored count (S3)', async () => {
    await start();
    const { id } = await createWithPartsUrl();
    // The setting the function leaves for the rest of its transaction decides how that transaction commits.
    const setting = async (sizeFromReservations: boolean) =>
      t.database.db.transaction(async (tx) => {
        await tx.execute(
          sql`select * from sortie_request_part(${id}::uuid, 'u-1', 1, 10, now(), ${MiB}::bigint, null, ${sizeFromReservations})`,
        );
        const rows = await tx.execute(sql`select current_setting('synchronous_commit') as v`);
        return (rows as unknown as { v: string }[])[0]!.v;
      });
    expect(await setting(false)).toBe('off');
    expect(await setting(true)).toBe('on');
  });

  it("counts a recording's reservations from its size and its unsettled parts, as the full sum does (migration 0008)", async () => {
    await start();
    const { id, url } = await createWithPartsUrl();
    // Stored: part 1 (100 bytes) and part 2 (200); then asked again, part 1 larger (150) and part 2
    // smaller (50); part 3 reserved (300) and never sent.
    expect((await put(`${url}/1`, randomBytes(100))).status).toBe(200);
    expect((await put(`${url}/2`, randomBytes(200))).status).toBe(200);
    for (const [partNumber, sizeBytes] of [
      [1, 150],
      [2, 50],
      [3, 300],
    ])
      expect((await api('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes })).status).toBe(200);
    // What a reservation of part `n` counts for the others, on local (false) and by the full sum (true);
    // rolled back, so that each call sees the same parts.
    const others = async (n: number, sizeFromReservations: boolean) => {
      let value = NaN;
      await t.database.db
        .transaction(async (tx) => {
          const rows = await tx.execute(
            sql`select others from sortie_request_part(${id}::uuid, 'u-1', ${n}, 10, now(), ${MiB}::bigint, null, ${sizeFromReservations})`,
          );
          value = Number((rows as unknown as { others: string }[])[0]!.others);
          tx.rollback();
        })
        .catch(() => {});
      return value;
    };
    // greatest(declared, stored) of each: 150, 200, 300.
    expect(await others(4, false)).toBe(650);
    expect(await others(4, true)).toBe(650);
    for (const n of [1, 2, 3]) expect(await others(n, false)).toBe(await others(n, true));
    expect(await others(2, false)).toBe(450);
  });
});
