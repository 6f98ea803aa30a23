/**
 * With a tiny size limit (SORTIE_RECORDING_MAX_SIZE_MB=1) and a
 * canvas full of noise, the recorder stops capture by itself, says so with a
 * 'limit' event, and completes: the recording is ready and within the limit.
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

const LIMIT = 1024 * 1024;

let svc: TestService;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  svc = await startService({ SORTIE_RECORDING_MAX_SIZE_MB: '1' });
  browser = await launch();
  page = await openPage(browser, svc.baseUrl);
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe('reaching the size limit', () => {
  let result: RunResult;
  let stored: Buffer;

  beforeAll(async () => {
    // seconds 0: nobody calls stop(); the recorder must stop on its own within maxSeconds.
    const opts: RunOptions = {
      sessionId: 'sess-limit',
      seconds: 0,
      maxSeconds: 40,
      width: 480,
      height: 360,
      noise: 0.3,
      recorder: { timesliceMs: 200, videoBitsPerSecond: 4_000_000, partSizeBytes: 128 * 1024 },
    };
    result = await runRecording(page, opts);
    if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
  });

  it('stops by itself with a limit event, and ends ready rather than failed', () => {
    console.info(
      `limit: stopped after ${Math.round(result.wallMs)} ms at ${result.recording?.sizeBytes} bytes (limit ${LIMIT}); event ${JSON.stringify(result.limit)}; chunks ${JSON.stringify(result.chunkSizes)}`,
    );
    expect(result.failure).toBeNull();
    expect(result.errors).toEqual([]);
    expect(result.limit).toMatchObject({ maxSizeBytes: LIMIT });
    expect(result.recording?.status).toBe('ready');
    expect(result.states).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
  });

  it('stays within the limit yet keeps most of it', () => {
    expect(stored.length).toBe(result.recording!.sizeBytes);
    expect(stored.length).toBeLessThanOrEqual(LIMIT);
    expect(stored.length).toBeGreaterThan(LIMIT / 2);
  });

  // Under CPU load Chromium can hand over a first chunk of one byte, and the page hears of capture
  // starting and of each chunk late: neither may change what is stored.
  it('holds exactly the chunks kept, playable with its Duration', () => {
    const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
    const durationMs = result.recording!.durationMs!;
    expect(stored.equals(Buffer.from(setWebmDuration(recorded, durationMs)!))).toBe(true);
    const p = probe(stored);
    expect(p.formatDuration * 1000).toBeCloseTo(durationMs, 0);
    // The Duration is the frames' own end: the last frame's time plus one frame interval, whatever the load.
    const last = p.times[p.times.length - 1]!;
    const interval = last - p.times[p.times.length - 2]!;
    expect(durationMs / 1000).toBeCloseTo(last + interval, 2);
  });
});
