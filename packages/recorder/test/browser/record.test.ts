/**
 * A real browser (Chromium, or Firefox in the browser-firefox project: driver.ts) records an animated canvas for a few seconds
 * against the real service; the stored file is the recorded chunks with the
 * Duration written in, ffprobe and a <video> agree on its length, and it seeks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebmDuration } from '@sortie/webm';
import {
  runRecording,
  download,
  downloadUrl,
  mintToken,
  probe,
  startService,
  USER,
  type TestService,
} from './harness.js';
import { ENGINE, launchBrowser, openTestPage, type TestBrowser, type TestPage } from './driver.js';
import type { RunOptions, RunResult } from './page-entry.js';

/**
 * How far the recording's duration (the media's own time) may be from the page's clock, capture to stop():
 * a few frames at 30 fps.
 */
const PAGE_CLOCK_TOLERANCE_MS = 250;

let svc: TestService;
let browser: TestBrowser;
let page: TestPage;

beforeAll(async () => {
  svc = await startService();
  browser = await launchBrowser();
  console.info(`browser: ${await browser.version()}`);
  page = await openTestPage(browser, svc.baseUrl);
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe(`recording a canvas in ${ENGINE}`, () => {
  let result: RunResult;
  let stored: Buffer;

  beforeAll(async () => {
    const opts: RunOptions = {
      sessionId: 'sess-browser-1',
      seconds: 4,
      // 30 fps as the canvas is drawn (the default is the service's 15): the packet count below counts on it.
      recorder: { timesliceMs: 500, partSizeBytes: 64 * 1024, frameRate: 30 },
    };
    result = await runRecording(page, opts);
    if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
  });

  it('ends ready, through the documented states, without errors', () => {
    expect(result.failure).toBeNull();
    expect(result.errors).toEqual([]);
    expect(result.recording?.status).toBe('ready');
    // The SDK's first choice each engine offers: Firefox's MediaRecorder has no VP9.
    expect(result.mimeType).toBe(ENGINE === 'firefox' ? 'video/webm;codecs=vp8' : 'video/webm;codecs=vp9');
    expect(result.states).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
  });

  it('stores exactly the recorded chunks, with the Duration written into part 1', () => {
    const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
    expect(result.chunkCount).toBeGreaterThan(4);
    const expected = setWebmDuration(recorded, result.recording!.durationMs!)!;
    // Chromium's Info has no Duration: 11 bytes are added. Firefox's holds a Duration of 0, overwritten in place.
    expect(expected.length).toBe(recorded.length + (ENGINE === 'firefox' ? 0 : 11));
    expect(stored.length).toBe(expected.length);
    expect(stored.equals(Buffer.from(expected))).toBe(true);
    expect(result.recording!.sizeBytes).toBe(stored.length);
  });

  it('reports progress ending with every recorded byte uploaded', () => {
    expect(result.lastProgress).toMatchObject({
      recordedBytes: stored.length,
      uploadedBytes: stored.length,
      durationMs: result.recording!.durationMs,
    });
  });

  it('lasts as long as the page recorded, and ffprobe reads that duration, matching the last frame', () => {
    const seconds = result.recording!.durationMs! / 1000;
    const p = probe(stored);
    console.info(
      `recorded ${seconds} s (the page's clock: ${result.pageRecordedMs.toFixed(0)} ms, ${result.drawsRecorded} draws), ` +
        `${stored.length} bytes in ${result.chunkCount} chunks; ffprobe: duration ${p.formatDuration} s, last frame ends ${p.lastPacketEnd} s, ${p.packets} packets`,
    );
    // At least the 4 s slept after start() resolved; then the page's own clock from capture to stop(), however
    // late a loaded machine ran the timer, within a few frames.
    expect(seconds).toBeGreaterThan(3.5);
    expect(Math.abs(result.recording!.durationMs! - result.pageRecordedMs)).toBeLessThan(PAGE_CLOCK_TOLERANCE_MS);
    // Every frame the canvas drew is recorded (30 fps asked, the canvas draws at most that): at the service's
    // default of 15 fps half would be missing. Counted against the draws of this run, not a rate the machine
    // may not reach. Firefox's captureStream(30) records about two frames in three whatever the canvas draws (75
    // of 115 here; the compositor's stream avoids that, compositor.test.ts): half at least.
    expect(p.packets).toBeGreaterThanOrEqual(Math.floor(result.drawsRecorded * (ENGINE === 'firefox' ? 0.5 : 0.8)));
    expect(Math.abs(p.formatDuration - seconds)).toBeLessThan(0.5);
    // Not only the header we wrote: the frames themselves end where the header says.
    expect(Math.abs(p.lastPacketEnd - seconds)).toBeLessThan(0.5);
  });

  it('plays in a <video> with a finite duration and seeks to the middle', async () => {
    const url = await downloadUrl(svc.baseUrl, result.recording!.id);
    // Firefox 153's seek in these files (no Cues) sometimes never ends on a loaded machine (as in tab-close.test.ts):
    // bounded there, and logged rather than asserted; ffprobe and Chromium read the same bytes whole.
    const within = ENGINE === 'firefox' ? 15_000 : undefined;
    const v = await page.evaluate(
      ([u, w]) =>
        (
          window as unknown as {
            probeVideo(
              u: string,
              w?: number,
            ): Promise<{ duration: number; seekedTo: number; target: number; seeked: boolean }>;
          }
        ).probeVideo(u, w),
      [url, within] as const,
    );
    console.info(`<video>: duration ${v.duration}, ${v.seeked ? 'seeked to' : 'NOT seeked in 15 s, at'} ${v.seekedTo}`);
    expect(Number.isFinite(v.duration)).toBe(true);
    expect(Math.abs(v.duration - result.recording!.durationMs! / 1000)).toBeLessThan(0.5);
    if (ENGINE === 'firefox' && !v.seeked) return;
    expect(Math.abs(v.seekedTo - v.duration / 2)).toBeLessThan(0.25);
  });
});

describe('pausing', () => {
  it('leaves the paused time out of the duration, and the file agrees', async () => {
    const result = await runRecording(page, {
      sessionId: 'sess-pause',
      seconds: 3,
      pauseSeconds: 2,
      recorder: { timesliceMs: 500 },
    });
    expect(result.failure).toBeNull();
    expect(result.states).toEqual(['starting', 'recording', 'paused', 'recording', 'stopping', 'uploading', 'ready']);
    const seconds = result.recording!.durationMs! / 1000;
    const p = probe(await download(svc.baseUrl, result.recording!.id));
    console.info(
      `paused recording: ${seconds} s recorded (the page's clock, pause excluded: ${result.pageRecordedMs.toFixed(0)} ms); ` +
        `ffprobe duration ${p.formatDuration} s, last frame ends ${p.lastPacketEnd} s`,
    );
    // The page's clock from capture to stop() less the 2 s or more it was paused: however late the timers ran,
    // counting the pause in would miss by far more than the tolerance.
    expect(seconds).toBeGreaterThan(2.5);
    expect(Math.abs(result.recording!.durationMs! - result.pageRecordedMs)).toBeLessThan(PAGE_CLOCK_TOLERANCE_MS);
    expect(Math.abs(p.formatDuration - seconds)).toBeLessThan(0.5);
    expect(Math.abs(p.lastPacketEnd - seconds)).toBeLessThan(0.5);
  });
});
