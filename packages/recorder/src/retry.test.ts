import { describe, expect, it } from 'vitest';
import { RecorderError } from './errors.js';
import { backoffDelay, isRetryable, withRetry } from './retry.js';

const http = (status: number) => new RecorderError('http', `status ${status}`, { status });

describe('retry policy', () => {
  it('retries network errors, 5xx, 408 and 429; not other 4xx, 401, or foreign errors', () => {
    expect(isRetryable(new RecorderError('network', 'x'))).toBe(true);
    for (const s of [500, 502, 503, 408, 429]) expect(isRetryable(http(s))).toBe(true);
    for (const s of [400, 403, 404, 409, 413]) expect(isRetryable(http(s))).toBe(false);
    expect(isRetryable(new RecorderError('unauthorized', 'x', { status: 401 }))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });

  it('backs off exponentially up to the cap, with jitter in the upper half', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    expect(backoffDelay(10, opts, () => 0)).toBe(500);
  });

  it('repeats a transient failure until it succeeds, sleeping between tries', async () => {
    const slept: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw http(503);
        return 'ok';
      },
      { baseDelayMs: 10 },
      { sleep: async (ms) => void slept.push(ms), random: () => 1 },
    );
    expect(out).toBe('ok');
    expect(calls).toBe(3);
    expect(slept).toEqual([10, 20]);
  });

  it('gives up at once on a 4xx', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw http(400);
        },
        {},
        { sleep: async () => {} },
      ),
    ).rejects.toMatchObject({ status: 400 });
    expect(calls).toBe(1);
  });

  it('stops after the configured number of attempts with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new RecorderError('network', `try ${calls}`);
        },
        { attempts: 4 },
        { sleep: async () => {} },
      ),
    ).rejects.toThrow('try 4');
    expect(calls).toBe(4);
  });

  it('stops waiting when aborted', async () => {
    const ac = new AbortController();
    const p = withRetry(
      async () => {
        throw http(500);
      },
      { baseDelayMs: 60_000 },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 10);
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
  });
});
