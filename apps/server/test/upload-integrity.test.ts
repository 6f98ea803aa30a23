/**
 * What a user relies on: whatever order, repeats and broken connections the
 * upload goes through, the download is the bytes that were recorded.
 * Runs over a real listening socket so that a PUT can be cut off mid-body.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etagValidates, testApp, type TestApp } from './helpers.js';

let t: TestApp;
let server: ServerType;
let base: string;

beforeAll(async () => {
  t = await testApp();
  await new Promise<void>((resolve) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await t?.close();
});

async function api(method: string, path: string, body?: unknown) {
  return fetch(base + path, {
    method,
    headers: { ...t.auth.user, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

async function partUrl(id: string, partNumber: number, sizeBytes: number): Promise<string> {
  const r = await api('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes });
  expect(r.status).toBe(200);
  return ((await r.json()) as { url: string }).url.replace(/^https?:\/\/[^/]+/, base);
}

async function put(url: string, bytes: Uint8Array): Promise<string> {
  const r = await fetch(url, { method: 'PUT', body: bytes });
  expect(r.status).toBe(200);
  return r.headers.get('etag')!;
}

/** Sends half of `bytes` on a raw socket, then destroys the connection. */
function putCutOff(url: string, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': bytes.length } });
    req.on('error', () => resolve());
    req.write(bytes.subarray(0, bytes.length >> 1), () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
  });
}

describe('upload integrity', () => {
  const parts = [randomBytes(300_000), randomBytes(250_000), randomBytes(400_000), randomBytes(123_457)];
  const whole = Buffer.concat(parts);
  let id: string;
  const etags: string[] = [];

  it('survives parts out of order, a part sent twice and a PUT cut off mid-body then retried', async () => {
    const created = await api('POST', '/api/recordings', { sessionId: 'integrity', mimeType: 'video/webm;codecs=vp9' });
    id = ((await created.json()) as { id: string }).id;

    etags[3] = await put(await partUrl(id, 4, parts[3]!.length), parts[3]!);
    etags[1] = await put(await partUrl(id, 2, parts[1]!.length), parts[1]!);
    // Part 1 first goes with wrong bytes, then is re-sent: the second one replaces it.
    const wrong = randomBytes(parts[0]!.length);
    await put(await partUrl(id, 1, wrong.length), wrong);
    etags[0] = await put(await partUrl(id, 1, parts[0]!.length), parts[0]!);
    // Part 3 is cut off half-way: nothing of it may be kept.
    const url3 = await partUrl(id, 3, parts[2]!.length);
    await putCutOff(url3, parts[2]!);
    // The server notices the hang-up asynchronously: wait (bounded) until its temp file is gone.
    const tmpFiles = async () =>
      (await readdir(`${t.storagePath}/.parts/${id}.webm`)).filter((n) => n.endsWith('.tmp'));
    for (let i = 0; i < 600 && (await tmpFiles()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await tmpFiles()).toEqual([]);
    const stored = await t.storage.listParts({ key: `${id}.webm`, uploadId: null });
    expect(stored.map((p) => p.partNumber)).toEqual([1, 2, 4]);
    etags[2] = await put(url3, parts[2]!);

    for (const [i, e] of etags.entries()) expect(etagValidates('local', e, parts[i]!), e).toBe(true);
  });

  it('refuses complete with a wrong ETag (400) and changes nothing', async () => {
    const bad = etags.map((etag, i) => ({
      partNumber: i + 1,
      etag: i === 2 ? '"00000000000000000000000000000000"' : etag,
    }));
    const r = await api('POST', `/api/recordings/${id}/complete`, { durationMs: 9000, parts: bad });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const rec = (await (await api('GET', `/api/recordings/${id}`)).json()) as { status: string; sizeBytes: number };
    expect(rec.status).toBe('recording');
    expect(rec.sizeBytes).toBe(whole.length);
    expect((await t.storage.listParts({ key: `${id}.webm`, uploadId: null })).length).toBe(4);
  });

  it('completes, and downloads byte-identical; repeating complete answers the same recording', async () => {
    const body = { durationMs: 9000, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) };
    const first = await api('POST', `/api/recordings/${id}/complete`, body);
    expect(first.status).toBe(200);
    const rec = await first.json();
    expect(rec).toMatchObject({ status: 'ready', sizeBytes: whole.length, durationMs: 9000 });
    const again = await api('POST', `/api/recordings/${id}/complete`, body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(rec);

    const dl = await api('GET', `/api/recordings/${id}/download`);
    const got = Buffer.from(await dl.arrayBuffer());
    expect(got.length).toBe(whole.length);
    expect(got.equals(whole)).toBe(true);
  });

  it('answers a Range request with exactly the asked slice', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=299990-300010', 299_990, 300_010],
      ['bytes=1000000-', 1_000_000, whole.length - 1],
      ['bytes=-500', whole.length - 500, whole.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await fetch(`${base}/api/recordings/${id}/download`, { headers: { ...t.auth.user, range } });
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${whole.length}`);
      expect(Buffer.from(await r.arrayBuffer()).equals(whole.subarray(start, end + 1))).toBe(true);
    }
    const unsat = await fetch(`${base}/api/recordings/${id}/download`, {
      headers: { ...t.auth.user, range: `bytes=${whole.length}-` },
    });
    expect(unsat.status).toBe(416);
    expect(unsat.headers.get('content-range')).toBe(`bytes */${whole.length}`);
  });
});
