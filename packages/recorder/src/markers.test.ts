/** The marker queue against a scripted fetch (a unit test of this one module; the player spec runs it end to end). */
import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api.js';
import { MarkerQueue, putThumbnail } from './markers.js';

function scripted(status = 201) {
  const calls: { url: string; method: string; body: unknown; headers: Record<string, string> }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({
      url,
      method: init.method!,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
      headers: init.headers as Record<string, string>,
    });
    return new Response(status === 204 ? null : '{}', { status });
  }) as typeof globalThis.fetch;
  return { calls, api: new ApiClient({ baseUrl: 'http://svc', getToken: 'tok', fetch, retry: { attempts: 1 } }) };
}

describe('MarkerQueue', () => {
  it('holds markers until the recording exists, then sends them in batches of at most 100 with their offsets', async () => {
    const { calls, api } = scripted();
    const rec: { id?: string } = {};
    let now = 0;
    const q = new MarkerQueue(
      api,
      () => rec.id,
      () => now,
    );
    q.add('started', 'sdk');
    now = 1500;
    q.add('file opened', 'app', { path: '/x' });
    await q.flush();
    expect(calls).toHaveLength(0);
    rec.id = 'rec-1';
    for (let i = 0; i < 150; i++) q.add(`m${i}`, 'app');
    await q.close();
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', 'http://svc/api/recordings/rec-1/markers'],
      ['POST', 'http://svc/api/recordings/rec-1/markers'],
    ]);
    const sent = calls.flatMap((c) => (c.body as { markers: { offsetMs: number; label: string }[] }).markers);
    expect(sent).toHaveLength(152);
    expect((calls[0]!.body as { markers: unknown[] }).markers).toHaveLength(100);
    expect(sent[0]).toEqual({ offsetMs: 0, label: 'started', source: 'sdk' });
    expect(sent[1]).toEqual({ offsetMs: 1500, label: 'file opened', source: 'app', data: { path: '/x' } });
  });

  it('sends a batch by itself a second after the first marker of it', async () => {
    vi.useFakeTimers();
    try {
      const { calls, api } = scripted();
      const q = new MarkerQueue(
        api,
        () => 'rec-2',
        () => 42,
      );
      q.add('clipboard', 'app');
      q.add('clipboard', 'app');
      await vi.advanceTimersByTimeAsync(999);
      expect(calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toHaveLength(1);
      expect((calls[0]!.body as { markers: unknown[] }).markers).toHaveLength(2);
      await q.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('cuts a label to the 200 characters the service takes, and drops a batch the service refuses', async () => {
    const { calls, api } = scripted(409);
    const q = new MarkerQueue(
      api,
      () => 'rec-3',
      () => 0,
    );
    q.add('x'.repeat(300), 'app');
    await expect(q.close()).resolves.toBeUndefined();
    expect((calls[0]!.body as { markers: { label: string }[] }).markers[0]!.label).toHaveLength(200);
  });
});

describe('putThumbnail', () => {
  it('PUTs the JPEG at its whole-ms offset with the bearer token', async () => {
    const { calls, api } = scripted(204);
    const jpeg = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], { type: 'image/jpeg' });
    await putThumbnail(api, 'rec-4', 10_000.4, jpeg);
    expect(calls[0]!.url).toBe('http://svc/api/recordings/rec-4/thumbnails/10000');
    expect(calls[0]!.method).toBe('PUT');
    expect(calls[0]!.headers).toMatchObject({ Authorization: 'Bearer tok', 'Content-Type': 'image/jpeg' });
  });

  it('rejects with the service error when the thumbnail is refused', async () => {
    const { api } = scripted(413);
    await expect(putThumbnail(api, 'rec-5', 0, new Blob([]))).rejects.toMatchObject({ status: 413 });
  });
});
