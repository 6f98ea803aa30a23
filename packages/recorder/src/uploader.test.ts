/** The uploader against a scripted fetch (a unit test of this one module; the real service is in test/browser). */
import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api.js';
import type { RecorderError } from './errors.js';
import { Uploader } from './uploader.js';

type Handler = (url: URL, init: RequestInit) => Promise<Response> | Response;

function harness(
  putHandler: (part: number, attempt: number, url: URL) => Promise<Response> | Response,
  partsHandler?: (part: number, attempt: number) => Response | undefined,
) {
  const calls = { parts: new Map<number, number>(), puts: new Map<number, number>(), tokens: 0 };
  let inFlight = 0;
  let maxInFlight = 0;
  const handler: Handler = async (url, init) => {
    if (url.pathname.endsWith('/parts')) {
      const { partNumber, sizeBytes } = JSON.parse(String(init.body)) as { partNumber: number; sizeBytes: number };
      const n = (calls.parts.get(partNumber) ?? 0) + 1;
      calls.parts.set(partNumber, n);
      const scripted = partsHandler?.(partNumber, n);
      if (scripted) return scripted;
      return Response.json({
        partNumber,
        url: `https://store.test/p/${partNumber}?v=${n}&size=${sizeBytes}`,
        method: 'PUT',
        headers: {},
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      });
    }
    const part = Number(url.pathname.split('/').pop());
    const attempt = (calls.puts.get(part) ?? 0) + 1;
    calls.puts.set(part, attempt);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await putHandler(part, attempt, url);
    } finally {
      inFlight--;
    }
  };
  const api = new ApiClient({
    baseUrl: 'https://api.test',
    getToken: () => `t${++calls.tokens}`,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    fetch: ((input: string | URL, init: RequestInit = {}) =>
      Promise.resolve(handler(new URL(String(input)), init))) as typeof fetch,
  });
  return { api, calls, maxInFlight: () => maxInFlight };
}

const ok = (part: number) => new Response(null, { status: 200, headers: { ETag: `"etag-${part}"` } });
const tick = () => new Promise((r) => setTimeout(r, 2));
const part = (partNumber: number, size = 10) => ({ partNumber, data: new Blob([new Uint8Array(size)]) });

describe('Uploader', () => {
  it('sends at most `concurrency` parts at once and lists every ETag in order', async () => {
    const h = harness(async (p) => {
      await tick();
      return ok(p);
    });
    const up = new Uploader({ api: h.api, recordingId: 'r1', concurrency: 2, retry: { baseDelayMs: 1 } });
    for (let i = 1; i <= 6; i++) up.enqueue(part(i));
    const parts = await up.finish();
    expect(parts).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ partNumber: n, etag: `"etag-${n}"` })));
    expect(h.maxInFlight()).toBe(2);
    expect(up.uploadedBytes).toBe(60);
    expect(up.pendingBytes).toBe(0);
  });

  it('retries a 500 and a network failure on the same part until it is stored', async () => {
    const h = harness((p, attempt) => {
      if (p === 2 && attempt === 1) return new Response('{}', { status: 500 });
      if (p === 2 && attempt === 2) throw new TypeError('Failed to fetch');
      return ok(p);
    });
    const up = new Uploader({ api: h.api, recordingId: 'r1', retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    up.enqueue(part(1));
    up.enqueue(part(2));
    expect(await up.finish()).toHaveLength(2);
    expect(h.calls.puts.get(2)).toBe(3);
  });

  it('asks /parts for a new URL when the URL answers 401 or 403', async () => {
    const h = harness((p, _attempt, url) =>
      url.searchParams.get('v') === '1' ? new Response('', { status: 403 }) : ok(p),
    );
    const up = new Uploader({ api: h.api, recordingId: 'r1', retry: { baseDelayMs: 1 } });
    up.enqueue(part(1));
    await up.finish();
    expect(h.calls.parts.get(1)).toBe(2);
    expect(h.calls.puts.get(1)).toBe(2);
  });

  it('does not retry a 4xx: the upload fails once, and finish rejects with it', async () => {
    const h = harness((p) =>
      p === 2 ? new Response('{"error":{"code":"invalid_request","message":"bad"}}', { status: 400 }) : ok(p),
    );
    const fatal: unknown[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1 },
      onFatal: (e) => fatal.push(e),
    });
    up.enqueue(part(1));
    up.enqueue(part(2));
    await expect(up.finish()).rejects.toMatchObject({ code: 'http', status: 400, serverCode: 'invalid_request' });
    expect(h.calls.puts.get(2)).toBe(1);
    expect(fatal).toHaveLength(1);
  });

  it('counts a re-sent part once, at its new size, with its new ETag', async () => {
    let n = 0;
    const h = harness(() => new Response(null, { status: 200, headers: { ETag: `"v${++n}"` } }));
    const up = new Uploader({ api: h.api, recordingId: 'r1' });
    up.enqueue(part(1, 100));
    up.enqueue(part(2, 50));
    await up.finish();
    up.enqueue(part(1, 111));
    const parts = await up.finish();
    expect(up.uploadedBytes).toBe(161);
    expect(parts[0]).toEqual({ partNumber: 1, etag: '"v3"' });
  });

  it('keeps retrying a transient failure past retry.attempts by default (bounded by memory, not a count)', async () => {
    const h = harness((p, attempt) => (attempt <= 20 ? Promise.reject(new TypeError('Failed to fetch')) : ok(p)));
    const up = new Uploader({ api: h.api, recordingId: 'r1', retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    up.enqueue(part(1));
    expect(await up.finish()).toEqual([{ partNumber: 1, etag: '"etag-1"' }]);
    expect(h.calls.puts.get(1)).toBe(21);
  });

  it('has one retry budget: /parts is asked once per attempt, not retried inside each attempt', async () => {
    const h = harness(ok, () => Response.json({ error: { code: 'internal', message: 'down' } }, { status: 503 }));
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      persistent: false,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    up.enqueue(part(1));
    await expect(up.finish()).rejects.toMatchObject({ code: 'http', status: 503 });
    expect(h.calls.parts.get(1)).toBe(3);
  });

  it('fails once the bytes not uploaded would pass maxPendingBytes, keeping the stored prefix', async () => {
    const h = harness((p) => (p === 1 ? ok(p) : Promise.reject(new TypeError('Failed to fetch'))));
    const fatal: unknown[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      maxPendingBytes: 25,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
      onFatal: (e) => fatal.push(e),
    });
    up.enqueue(part(1));
    await up.finish();
    up.enqueue(part(2));
    up.enqueue(part(3));
    expect(fatal).toEqual([]);
    up.enqueue(part(4));
    expect(fatal).toEqual([expect.objectContaining({ code: 'network' })]);
    await expect(up.finish()).rejects.toMatchObject({ code: 'network' });
    expect(up.storedPrefix()).toEqual([{ partNumber: 1, etag: '"etag-1"' }]);
  });

  it('fails with a clear error when the PUT answer hides the ETag (CORS)', async () => {
    const h = harness(() => new Response(null, { status: 200 }));
    const up = new Uploader({ api: h.api, recordingId: 'r1' });
    up.enqueue(part(1));
    await expect(up.finish()).rejects.toThrow(/ETag/);
  });
});

describe('Uploader: the parts URL (extension, local backend)', () => {
  const partsUrl = (name: string, inMs = 600_000) => ({
    url: `https://api.test/api/uploads/${name}`,
    method: 'PUT' as const,
    headers: { 'Content-Type': 'application/octet-stream' },
    expiresAt: new Date(Date.now() + inMs).toISOString(),
  });

  it('sends each part in one PUT to `${url}/${partNumber}`, never asking /parts', async () => {
    const urls: string[] = [];
    const h = harness((p, _attempt, url) => {
      urls.push(url.pathname);
      return ok(p);
    });
    const up = new Uploader({ api: h.api, recordingId: 'r1', partsUrl: partsUrl('tok') });
    for (let i = 1; i <= 3; i++) up.enqueue(part(i));
    expect(await up.finish()).toHaveLength(3);
    expect(h.calls.parts.size).toBe(0);
    expect(urls.sort()).toEqual(['/api/uploads/tok/1', '/api/uploads/tok/2', '/api/uploads/tok/3']);
  });

  it('falls back to /parts when it answers 401, and takes the fresh parts URL from that answer', async () => {
    const urls: string[] = [];
    const h = harness(
      (p, _attempt, url) => {
        urls.push(url.href);
        return url.pathname.startsWith('/api/uploads/old/') ? new Response('{}', { status: 401 }) : ok(p);
      },
      (p, n) =>
        Response.json({
          partNumber: p,
          url: `https://store.test/p/${p}?v=${n}`,
          method: 'PUT',
          headers: {},
          expiresAt: new Date(Date.now() + 600_000).toISOString(),
          partsUrl: partsUrl('new'),
        }),
    );
    const up = new Uploader({ api: h.api, recordingId: 'r1', concurrency: 1, partsUrl: partsUrl('old') });
    up.enqueue(part(1));
    up.enqueue(part(2));
    expect(await up.finish()).toHaveLength(2);
    expect(urls).toEqual([
      'https://api.test/api/uploads/old/1',
      'https://store.test/p/1?v=1',
      'https://api.test/api/uploads/new/2',
    ]);
    expect(up.partsUrl?.url).toBe('https://api.test/api/uploads/new');
  });

  it('does not use a parts URL about to expire: the part asks /parts', async () => {
    const h = harness((p) => ok(p));
    const up = new Uploader({ api: h.api, recordingId: 'r1', partsUrl: partsUrl('tok', 10_000) });
    up.enqueue(part(1));
    await up.finish();
    expect(h.calls.parts.get(1)).toBe(1);
  });

  it('fails on a 413 from it (the size limit), as from /parts', async () => {
    const h = harness(() => Response.json({ error: { code: 'payload_too_large', message: 'over' } }, { status: 413 }));
    const up = new Uploader({ api: h.api, recordingId: 'r1', partsUrl: partsUrl('tok') });
    up.enqueue(part(1));
    await expect(up.finish()).rejects.toMatchObject({ status: 413 });
    expect(h.calls.parts.size).toBe(0);
  });
});

describe('Uploader: a part URL answering 409', () => {
  it('asks /parts once more (the reservation was replaced or forgotten) and sends the part again', async () => {
    const h = harness((p, attempt) => (attempt === 1 ? new Response('{}', { status: 409 }) : ok(p)));
    const up = new Uploader({ api: h.api, recordingId: 'r1' });
    up.enqueue(part(1));
    expect(await up.finish()).toEqual([{ partNumber: 1, etag: '"etag-1"' }]);
    expect(h.calls.parts.get(1)).toBe(2);
  });

  it('fails when /parts itself answers 409 (the recording takes no more parts)', async () => {
    const h = harness(
      () => new Response('{}', { status: 409 }),
      (_p, n) =>
        n > 1 ? Response.json({ error: { code: 'conflict', message: 'closed' } }, { status: 409 }) : undefined,
    );
    const up = new Uploader({ api: h.api, recordingId: 'r1' });
    up.enqueue(part(1));
    await expect(up.finish()).rejects.toMatchObject({ status: 409 });
  });
});

describe('ApiClient tokens', () => {
  it('asks getToken again after a 401 and repeats the call with the new token', async () => {
    const seen: string[] = [];
    let tokens = 0;
    const api = new ApiClient({
      baseUrl: 'https://api.test/',
      getToken: async () => `tok${++tokens}`,
      fetch: (async (_u: string, init: RequestInit) => {
        const auth = (init.headers as Record<string, string>).Authorization!;
        seen.push(auth);
        return auth === 'Bearer tok1'
          ? new Response('{"error":{"code":"unauthorized","message":"expired"}}', { status: 401 })
          : Response.json({ ok: 1 });
      }) as typeof fetch,
    });
    expect(await api.request('GET', '/api/recordings/config')).toEqual({ ok: 1 });
    expect(seen).toEqual(['Bearer tok1', 'Bearer tok2']);
    // The fresh token is kept for the next call.
    await api.request('GET', '/x');
    expect(seen[2]).toBe('Bearer tok2');
  });

  it('gives up with code unauthorized when the fresh token is refused too', async () => {
    const api = new ApiClient({
      baseUrl: 'https://api.test',
      getToken: 'static',
      fetch: (async () => new Response('', { status: 401 })) as typeof fetch,
    });
    await expect(api.request('GET', '/x')).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
  });

  it("turns a 404 from /config into code 'disabled'", async () => {
    const api = new ApiClient({
      baseUrl: 'https://api.test',
      getToken: 't',
      fetch: (async () =>
        Response.json({ error: { code: 'not_found', message: 'No such route.' } }, { status: 404 })) as typeof fetch,
    });
    await expect(api.config()).rejects.toMatchObject({ code: 'disabled' });
  });
});

describe('Uploader: keepalive PUTs (a part in flight outlives its page)', () => {
  function keepaliveHarness(failKeepaliveOnce: boolean) {
    const puts: { part: number; keepalive: boolean }[] = [];
    let failed = false;
    const api = new ApiClient({
      baseUrl: 'https://api.test',
      getToken: () => 't',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      fetch: (async (input: string | URL, init: RequestInit = {}) => {
        const url = new URL(String(input));
        if (url.pathname.endsWith('/parts')) {
          const { partNumber } = JSON.parse(String(init.body)) as { partNumber: number };
          return Response.json({
            partNumber,
            url: `https://store.test/p/${partNumber}`,
            method: 'PUT',
            headers: {},
            expiresAt: new Date(Date.now() + 600_000).toISOString(),
          });
        }
        const part = Number(url.pathname.split('/').pop());
        puts.push({ part, keepalive: init.keepalive === true });
        if (failKeepaliveOnce && init.keepalive && !failed) {
          failed = true;
          throw new TypeError('Failed to fetch'); // what a browser says when it refuses a keepalive request
        }
        return new Response(null, { status: 200, headers: { ETag: `"e${part}"` } });
      }) as typeof fetch,
    });
    return { api, puts };
  }

  it('sends a part of 64 KiB or less with keepalive, a larger one without', async () => {
    const { api, puts } = keepaliveHarness(false);
    const up = new Uploader({ api, recordingId: 'r', concurrency: 1 });
    up.enqueue({ partNumber: 1, data: new Blob([new Uint8Array(65_536)]) });
    up.enqueue({ partNumber: 2, data: new Blob([new Uint8Array(65_537)]) });
    await up.finish();
    expect(puts).toEqual([
      { part: 1, keepalive: true },
      { part: 2, keepalive: false },
    ]);
  });

  it('keeps the keepalive bodies in flight within 64 KiB together', async () => {
    const { api, puts } = keepaliveHarness(false);
    const up = new Uploader({ api, recordingId: 'r', concurrency: 3 });
    for (let n = 1; n <= 3; n++) up.enqueue({ partNumber: n, data: new Blob([new Uint8Array(30_000)]) });
    await up.finish();
    // Parts 1 and 2 (60 000 bytes) fit together; part 3 would pass 65 536 while they are in flight.
    expect(puts.filter((p) => p.keepalive).length).toBe(2);
    expect(puts.find((p) => p.part === 3)?.keepalive).toBe(false);
  });

  it('retries a part whose keepalive PUT was refused without keepalive', async () => {
    const { api, puts } = keepaliveHarness(true);
    const up = new Uploader({ api, recordingId: 'r' });
    up.enqueue({ partNumber: 1, data: new Blob([new Uint8Array(100)]) });
    expect(await up.finish()).toEqual([{ partNumber: 1, etag: '"e1"' }]);
    expect(puts).toEqual([
      { part: 1, keepalive: true },
      { part: 1, keepalive: false },
    ]);
  });
});

describe('Uploader: uploads that never reach their server (network or CORS) are reported, and retried', () => {
  const blocked = () => {
    throw new TypeError('Failed to fetch');
  };

  it("reports 'upload_blocked' naming the origin after 3 tries in a row, keeps retrying, and clears it once a part is stored", async () => {
    let open = false;
    const h = harness((p) => (open ? ok(p) : blocked()));
    const stalls: (RecorderError | null)[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      stallAfterMs: 0,
      onStall: (e) => stalls.push(e),
    });
    up.enqueue(part(1));
    await vi.waitFor(() => expect(stalls).toHaveLength(1), { timeout: 5000, interval: 2 });
    const err = stalls[0]!;
    expect(err.code).toBe('upload_blocked');
    expect(err.message).toContain('https://store.test');
    expect(err.message).toMatch(/network/);
    expect(err.message).toMatch(/CORS/);
    expect(up.stalled).toBe(err);
    // Still retrying, and no second report while it stays blocked.
    const tries = h.calls.puts.get(1)!;
    await vi.waitFor(() => expect(h.calls.puts.get(1)!).toBeGreaterThan(tries + 3), { timeout: 5000, interval: 2 });
    expect(stalls).toHaveLength(1);
    open = true;
    expect(await up.finish()).toHaveLength(1);
    expect(stalls).toEqual([err, null]);
    expect(up.stalled).toBeNull();
  });

  it('does not report a blip: two failed tries, then the part is stored', async () => {
    const h = harness((p, attempt) => (attempt <= 2 ? blocked() : ok(p)));
    const stalls: unknown[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      stallAfterMs: 0,
      onStall: (e) => stalls.push(e),
    });
    up.enqueue(part(1));
    await up.finish();
    expect(stalls).toEqual([]);
  });

  it('does not report before stallAfterMs, however many tries failed', async () => {
    const h = harness((p, attempt) => (attempt <= 8 ? blocked() : ok(p)));
    const stalls: unknown[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      stallAfterMs: 60_000,
      onStall: (e) => stalls.push(e),
    });
    up.enqueue(part(1));
    await up.finish();
    expect(stalls).toEqual([]);
  });

  it('does not count answers from a server (5xx): those reached it', async () => {
    const h = harness((p, attempt) => (attempt <= 6 ? new Response('{}', { status: 503 }) : ok(p)));
    const stalls: unknown[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      stallAfterMs: 0,
      onStall: (e) => stalls.push(e),
    });
    up.enqueue(part(1));
    await up.finish();
    expect(stalls).toEqual([]);
  });

  it("names the service's origin when it is /parts that cannot be reached", async () => {
    const h = harness(ok, () => blocked());
    const stalls: (RecorderError | null)[] = [];
    const up = new Uploader({
      api: h.api,
      recordingId: 'r1',
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      stallAfterMs: 0,
      onStall: (e) => stalls.push(e),
    });
    up.enqueue(part(1));
    await vi.waitFor(() => expect(stalls).toHaveLength(1), { timeout: 5000, interval: 2 });
    expect(stalls[0]!.message).toContain('https://api.test');
    up.cancel();
  });
});
