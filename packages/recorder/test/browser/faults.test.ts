/**
 * The same recording with faults injected by Playwright — part
 * PUTs answered 500, a dropped connection, an upload URL refused with 401 —
 * and a bearer token that really expires mid-recording. The recording still
 * completes byte-exact and progress ends with uploadedBytes == recordedBytes.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebmDuration } from '@sortie/webm';
import {
  runRecording,
  download,
  launch,
  mintToken,
  openPage,
  probe,
  startService,
  USER,
  type TestService,
} from './harness.js';
import type { RunOptions, RunResult } from './page-entry.js';

let svc: TestService;
let browser: Browser;
let page: Page;
const seen = { puts: 0, served500: 0, dropped: 0, refusedUrl: 0, api401: 0, tokens: 0 };

beforeAll(async () => {
  svc = await startService();
  browser = await launch();
  page = await openPage(browser, svc.baseUrl);
  // The first token lives 3 s: it expires during the recording, and the service answers 401 with it.
  await page.exposeFunction('testToken', () => mintToken(USER, seen.tokens++ === 0 ? 3 : 600));
  await page.route(`${svc.baseUrl}/api/uploads/**`, async (route) => {
    const n = ++seen.puts;
    if (n === 2 || n === 6) {
      seen.served500++;
      return route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"internal","message":"injected"}}',
      });
    }
    if (n === 4) {
      seen.dropped++;
      return route.abort('connectionreset');
    }
    if (n === 8) {
      seen.refusedUrl++;
      return route.fulfill({
        status: 401,
        contentType: 'application/json',
        body: '{"error":{"code":"unauthorized","message":"injected: URL expired"}}',
      });
    }
    return route.continue();
  });
  page.on('response', (res) => {
    if (res.status() === 401 && res.url().includes('/api/recordings')) seen.api401++;
  });
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe('recording through injected faults', () => {
  let result: RunResult;
  let stored: Buffer;

  beforeAll(async () => {
    const opts: RunOptions = {
      sessionId: 'sess-faults',
      seconds: 6,
      noise: 0.02,
      recorder: { timesliceMs: 400, partSizeBytes: 32 * 1024, retry: { baseDelayMs: 200, maxDelayMs: 2000 } },
    };
    result = await runRecording(page, opts);
    if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
  });

  it('met every injected fault', () => {
    console.info(`faults: ${JSON.stringify(seen)}; ${result.chunkCount} chunks, ${stored?.length} bytes`);
    expect(seen.served500).toBe(2);
    expect(seen.dropped).toBe(1);
    expect(seen.refusedUrl).toBe(1);
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
