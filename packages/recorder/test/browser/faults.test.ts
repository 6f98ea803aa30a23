/**
 * The same recording with faults injected by the browser driver — uploads
 * answered 500, a dropped connection, on the local backend an upload URL
 * refused with 401 — and a bearer token that really expires mid-recording,
 * on the local and the S3 backend (S3: the loopback S3 server, s3-harness.ts;
 * there the faults hit the bucket's own requests, the tails and the part).
 * The recording still completes byte-exact and progress ends with
 * uploadedBytes == recordedBytes. Chromium, or Firefox in the browser-firefox
 * project (driver.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebmDuration } from '@sortie/webm';
import { runRecording, download, mintToken, probe, USER } from './harness.js';
import { launchBrowser, openTestPage, type RouteAnswer, type TestBrowser } from './driver.js';
import type { RunOptions, RunResult } from './page-entry.js';
import { backendsUnderTest, startBackend } from './s3-harness.js';

let browser: TestBrowser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

for (const backend of backendsUnderTest()) {
  describe(`recording through injected faults (${backend} backend)`, () => {
    let svc: Awaited<ReturnType<typeof startBackend>>;
    const seen = { uploads: 0, served500: 0, dropped: 0, refusedUrl: 0, api401: 0, tokens: 0 };
    let result: RunResult;
    let stored: Buffer;

    beforeAll(async () => {
      svc = await startBackend(backend);
      const page = await openTestPage(browser, svc.baseUrl);
      // The first token lives 3 s: it expires during the recording, and the service answers 401 with it.
      await page.exposeFunction('testToken', () => mintToken(USER, seen.tokens++ === 0 ? 3 : 600));
      // Local: the part PUTs to the service. S3: the bucket's tail POSTs and part PUTs (a cross-origin answer of
      // our own carries the CORS header the bucket would, or the page would see a network error, not a 500).
      const uploads = svc.s3 ? `${svc.s3.endpoint}/${svc.s3.bucket}` : `${svc.baseUrl}/api/uploads/`;
      const cors: Record<string, string> = svc.s3 ? { 'access-control-allow-origin': '*' } : {};
      await page.route(uploads, async ({ method }): Promise<RouteAnswer> => {
        if (method !== 'PUT' && method !== 'POST') return 'continue';
        const n = ++seen.uploads;
        if (n === 2 || n === 6) {
          seen.served500++;
          return {
            status: 500,
            contentType: 'application/json',
            body: '{"error":{"code":"internal","message":"injected"}}',
            headers: cors,
          };
        }
        if (n === 4) {
          seen.dropped++;
          return { abort: 'connectionreset' };
        }
        if (n === 8 && !svc.s3) {
          seen.refusedUrl++;
          return {
            status: 401,
            contentType: 'application/json',
            body: '{"error":{"code":"unauthorized","message":"injected: URL expired"}}',
          };
        }
        return 'continue';
      });
      page.onResponse((res) => {
        if (res.status === 401 && res.url.includes('/api/recordings')) seen.api401++;
      });
      const opts: RunOptions = {
        sessionId: `sess-faults-${backend}`,
        seconds: 6,
        noise: 0.02,
        recorder: { timesliceMs: 400, partSizeBytes: 32 * 1024, retry: { baseDelayMs: 200, maxDelayMs: 2000 } },
      };
      result = await runRecording(page, opts);
      await page.close();
      if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
    });

    afterAll(async () => {
      await svc?.close();
    });

    it('met every injected fault', () => {
      console.info(
        `faults (${backend}): ${JSON.stringify(seen)}; ${result.chunkCount} chunks, ${stored?.length} bytes`,
      );
      expect(seen.served500).toBe(2);
      expect(seen.dropped).toBe(1);
      if (backend === 'local') expect(seen.refusedUrl).toBe(1);
      expect(seen.api401).toBeGreaterThanOrEqual(1);
      expect(seen.tokens).toBeGreaterThanOrEqual(2);
    });

    it('still completes ready, with no error surfaced', () => {
      expect(result.failure).toBeNull();
      expect(result.errors).toEqual([]);
      expect(result.recording?.status).toBe('ready');
    });

    it('stores the recorded chunks byte for byte, Duration written in', () => {
      const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
      const expected = Buffer.from(setWebmDuration(recorded, result.recording!.durationMs!)!);
      expect(stored.length).toBe(expected.length);
      expect(stored.equals(expected)).toBe(true);
    });

    it('ends progress with uploadedBytes == recordedBytes', () => {
      expect(result.lastProgress!.uploadedBytes).toBe(result.lastProgress!.recordedBytes);
      expect(result.lastProgress!.recordedBytes).toBe(stored.length);
    });

    it('still has a duration ffprobe agrees with', () => {
      const p = probe(stored);
      expect(Math.abs(p.formatDuration - result.recording!.durationMs! / 1000)).toBeLessThan(0.5);
      expect(Math.abs(p.lastPacketEnd - result.recording!.durationMs! / 1000)).toBeLessThan(0.5);
    });
  });
}
