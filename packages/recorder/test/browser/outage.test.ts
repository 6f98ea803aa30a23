/**
 * Finding 1: a network outage longer than the old retry budget loses
 * nothing. Every request to the service fails (connection refused by
 * Playwright) for 12 s, starting after the first stored part and lasting
 * past stop(): with retry { baseDelayMs: 200, maxDelayMs: 2000 } the old
 * 8-attempt budget ran out within ~9 s. The recording must still complete
 * ready and byte-exact once the network is back. Meanwhile the recorder says
 * why it waits (uploadState 'stalled', an 'upload_blocked' error naming the
 * service's origin), and 'ok' again once parts get through.
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
  startService,
  USER,
  type TestService,
} from './harness.js';
import type { RunResult } from './page-entry.js';

const OUTAGE_MS = 12_000;

let svc: TestService;
let browser: Browser;
let page: Page;
const seen = { puts: 0, refused: 0, outageStart: 0, outageEnd: 0 };

beforeAll(async () => {
  svc = await startService();
  browser = await launch();
  page = await openPage(browser, svc.baseUrl);
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
  await page.route(`${svc.baseUrl}/api/**`, async (route) => {
    const now = Date.now();
    if (route.request().url().includes('/api/uploads/') && ++seen.puts === 2) seen.outageStart = now;
    if (seen.outageStart && now - seen.outageStart < OUTAGE_MS) {
      seen.refused++;
      seen.outageEnd = now;
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe('recording through a 12 s network outage', () => {
  let result: RunResult;
  let stored: Buffer;

  beforeAll(async () => {
    // Stop at 8 s, in the middle of the outage: stop() waits for the network to come back.
    result = await runRecording(page, {
      sessionId: 'sess-outage',
      seconds: 8,
      recorder: { timesliceMs: 500, partSizeBytes: 16 * 1024, retry: { baseDelayMs: 200, maxDelayMs: 2000 } },
    });
    if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
  });

  it('really cut the network for longer than the old retry budget', () => {
    console.info(`outage: ${JSON.stringify(seen)}; ${result.chunkCount} chunks; wall ${Math.round(result.wallMs)} ms`);
    expect(seen.outageEnd - seen.outageStart).toBeGreaterThan(10_000);
    expect(seen.refused).toBeGreaterThan(8);
  });

  it('completes ready; the one error says uploads were blocked, and uploads got through again', () => {
    expect(result.failure).toBeNull();
    expect(result.errors.map((e) => e.code)).toEqual(['upload_blocked']);
    expect(result.errors[0]!.message).toContain(svc.baseUrl);
    expect(result.uploadStates).toEqual(['stalled', 'ok']);
    expect(result.recording?.status).toBe('ready');
  });

  it('stores every recorded chunk byte for byte, Duration written in', () => {
    const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
    const expected = Buffer.from(setWebmDuration(recorded, result.recording!.durationMs!)!);
    expect(stored.length).toBe(expected.length);
    expect(stored.equals(expected)).toBe(true);
    expect(result.lastProgress!.uploadedBytes).toBe(stored.length);
  });
});
