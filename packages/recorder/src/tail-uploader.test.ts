/** The tail uploader against a scripted fetch (a unit test of this one module; the real bucket is in test/browser). */
import { describe, expect, it } from 'vitest';
import { ApiClient } from './api.js';
import { RecorderError } from './errors.js';
import { TailUploader } from './tail-uploader.js';

function harness(
  put: (key: string, attempt: number) => Response = () => new Response(null, { status: 204 }),
  maxBytes = 1024 * 1024,
  extraFields: Record<string, string> = {},
) {
  const batches: { partNumber: number; firstSeq: number }[] = [];
  const puts: { key: string; size: number; keepalive: boolean }[] = [];
  const attempts = new Map<string, number>();
  let tailsStatus = 200;
  const api = new ApiClient({
    baseUrl: 'https://api.test',
    getToken: () => 't',
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    fetch: (async (input: string | URL, init: RequestInit = {}) => {
      const url = new URL(String(input));
      if (url.pathname.endsWith('/tails')) {
        const body = JSON.parse(String(init.body)) as { partNumber: number; firstSeq: number };
        batches.push(body);
        if (tailsStatus !== 200)
          return Response.json({ error: { code: 'not_found', message: 'no' } }, { status: tailsStatus });
        const urls = [];
        const target = (partNumber: number, seq: number) => ({
          partNumber,
          seq,
          url: 'https://bucket.test/',
          fields: { key: `${partNumber}-${seq}`, policy: 'signed', ...extraFields },
        });
        for (let s = body.firstSeq; s < body.firstSeq + 30; s++) urls.push(target(body.partNumber, s));
        for (let s = 0; s < 8; s++) urls.push(target(body.partNumber + 1, s));
        return Response.json({
          urls,
          method: 'POST',
          maxBytes,
          expiresAt: new Date(Date.now() + 900_000).toISOString(),
        });
      }
      // A form upload: the policy's fields, then the file.
      const form = init.body as FormData;
      expect(init.method).toBe('POST');
      expect([...form.keys()]).toEqual(['key', 'policy', ...Object.keys(extraFields), 'file']);
      const key = String(form.get('key'));
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      puts.push({ key, size: (form.get('file') as Blob).size, keepalive: init.keepalive === true });
      return put(key, n);
    }) as typeof fetch,
  });
  return {
    api,
    batches,
    puts,
    failTails: (status: number) => (tailsStatus = status),
    make: (onGone?: (err: RecorderError) => void) =>
      new TailUploader({ api, recordingId: 'r1', signal: new AbortController().signal, onGone }),
  };
}

const blob = (size: number) => new Blob([new Uint8Array(size)]);

describe('TailUploader', () => {
  it('numbers each part’s tails from 0 in order, and fetches URLs once per batch', async () => {
    const h = harness();
    const tails = h.make();
    tails.prepare(1);
    tails.send(1, blob(10));
    tails.send(1, blob(20));
    tails.send(2, blob(30));
    await tails.close();
    expect(h.puts.map((p) => [p.key, p.size])).toEqual([
      ['1-0', 10],
      ['1-1', 20],
      ['2-0', 30],
    ]);
    // The next part's first URLs came with the first batch.
    expect(h.batches).toEqual([{ partNumber: 1, firstSeq: 0 }]);
    expect(tails.stored).toBe(3);
  });

  it('fetches the next batch ahead, before the URLs in hand run out', async () => {
    const h = harness();
    const tails = h.make();
    tails.prepare(1);
    // A tail every maxLagMs: each one finds the batch before it landed.
    for (let i = 0; i < 29; i++) {
      tails.send(1, blob(1));
      await new Promise((r) => setTimeout(r, 1));
    }
    await tails.close();
    expect(h.batches.map((b) => b.firstSeq)).toEqual([0, 28]);
  });

  it('sends a small tail with keepalive (it must outlive a closing page), a large one without', async () => {
    const h = harness();
    const tails = h.make();
    tails.prepare(1);
    tails.send(1, blob(1000));
    tails.send(1, blob(100 * 1024));
    await tails.close();
    expect(h.puts.map((p) => p.keepalive)).toEqual([true, false]);
  });

  it('counts long fields (a session token, the encryption fields) in the size judged for keepalive', async () => {
    const sse = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' };
    const h = harness(undefined, undefined, { 'x-amz-security-token': 't'.repeat(50_000), ...sse });
    const tails = h.make();
    tails.prepare(1);
    tails.send(1, blob(1000));
    tails.send(1, blob(20_000));
    await tails.close();
    // 20 000 bytes and a 4 KiB allowance fit in 64 KiB; with the token's 50 000 they do not.
    expect(h.puts.map((p) => p.keepalive)).toEqual([true, false]);
  });

  it('retries a failed tail under the same name, and gives up after a few attempts without failing anything', async () => {
    const h = harness(
      (key, n) => new Response(null, { status: key === '1-0' && n < 3 ? 503 : key === '1-1' ? 500 : 204 }),
    );
    const tails = h.make();
    tails.prepare(1);
    tails.send(1, blob(5));
    tails.send(1, blob(5));
    await tails.close();
    expect(h.puts.filter((p) => p.key === '1-0')).toHaveLength(3);
    expect(h.puts.filter((p) => p.key === '1-1')).toHaveLength(4);
    expect([tails.stored, tails.failed]).toEqual([1, 1]);
  });

  it('does not send a tail over its target’s cap (the store would refuse it); the next ones go', async () => {
    const h = harness(undefined, 100);
    const tails = h.make();
    tails.prepare(1);
    tails.send(1, blob(101));
    tails.send(1, blob(100));
    await tails.close();
    expect(h.puts.map((p) => [p.key, p.size])).toEqual([['1-1', 100]]);
    expect([tails.stored, tails.failed]).toEqual([1, 1]);
  });

  it('stops asking a service without tails (404) and sends nothing more', async () => {
    const h = harness();
    h.failTails(404);
    const gone: RecorderError[] = [];
    const tails = h.make((e) => gone.push(e));
    tails.prepare(1);
    tails.send(1, blob(5));
    await tails.close();
    tails.send(1, blob(5));
    await tails.close();
    expect(h.batches).toHaveLength(1);
    expect(h.puts).toEqual([]);
    // The first batch refused: a service without tails, not a recording gone.
    expect(gone).toEqual([]);
  });

  it('reports the recording gone when the service refuses targets (404) after handing some out', async () => {
    const h = harness();
    const gone: RecorderError[] = [];
    const tails = h.make((e) => gone.push(e));
    tails.prepare(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.batches).toHaveLength(1);
    // Deleted while recording: the next batch, fetched as the URLs in hand run low, answers 404.
    h.failTails(404);
    for (let i = 0; i < 29; i++) tails.send(1, blob(5));
    await tails.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(h.batches).toHaveLength(2);
    expect(gone).toHaveLength(1);
    expect(gone[0]).toBeInstanceOf(RecorderError);
    expect(gone[0]!.status).toBe(404);
  });

  it('sends nothing after close()', async () => {
    const h = harness();
    const tails = h.make();
    tails.prepare(1);
    await tails.close();
    tails.send(1, blob(5));
    await tails.close();
    expect(h.puts).toEqual([]);
  });
});
