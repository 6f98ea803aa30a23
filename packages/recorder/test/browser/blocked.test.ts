/**
 * Part URLs on another origin that answers without CORS (no-cors-store.ts, on loopback): Chromium refuses
 * every part PUT before sending it (fetch rejects), which the SDK retries without end. After a few tries
 * in a row (uploader.ts, STALL_AFTER_TRIES over STALL_AFTER_MS) it says why: an 'error' with code
 * 'upload_blocked' naming the store's origin and CORS, and uploadState 'stalled', while capture goes on.
 * Once the store answers with CORS, the retried parts go up, uploadState is 'ok' again, and stop() completes
 * a recording that holds everything captured.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recording } from '../../src/types.js';
import { download, launch, loadPage, mintToken, probe, startService, USER, type TestService } from './harness.js';
import { startNoCorsStore, type NoCorsStore } from './no-cors-store.js';
import type { BlockedLog } from './blocked-entry.js';

let svc: TestService;
let store: NoCorsStore;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  svc = await startService();
  store = await startNoCorsStore(svc.baseUrl);
  browser = await launch();
  page = await browser.newPage();
  await page.exposeFunction('testToken', () => mintToken(USER, 3600));
  await loadPage(page, svc.baseUrl, './blocked-entry.ts');
});

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await svc?.close();
});

const readLog = () => page.evaluate(() => (window as unknown as { blockedLog: BlockedLog }).blockedLog);
const uploadState = () =>
  page.evaluate(() => (window as unknown as { blockedRecorder: { uploadState: string } }).blockedRecorder.uploadState);
const state = () =>
  page.evaluate(() => (window as unknown as { blockedRecorder: { state: string } }).blockedRecorder.state);

/** Polls `read` until `ok` holds or `withinMs` passes; the last value read. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, withinMs: number): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('part URLs on an origin without CORS', () => {
  let blockedAfterMs = 0;

  it("reports 'upload_blocked' with the origin, and says 'stalled' while recording goes on", async () => {
    const t0 = Date.now();
    await page.evaluate((o) => (window as unknown as { startBlocked(o: unknown): Promise<unknown> }).startBlocked(o), {
      sessionId: 'sess-blocked',
      partsOrigin: store.origin,
    } as unknown);
    // Tries at about 0, 0.5, 1.5, 3.5, 7.5 s: stalled at ~7.5 s; a loaded machine runs them later.
    const log = await until(readLog, (l) => l.errors.length > 0, 60_000);
    blockedAfterMs = Date.now() - t0;
    console.info(
      `upload_blocked after ${blockedAfterMs} ms (${store.seen.blocked} requests refused): ${log.errors[0]?.message}`,
    );
    expect(log.errors.map((e) => e.code)).toEqual(['upload_blocked']);
    expect(log.errors[0]!.message).toContain(store.origin);
    expect(log.errors[0]!.message).toMatch(/CORS/);
    expect(log.errors[0]!.message).toMatch(/network/);
    expect(log.uploadStates).toEqual(['stalled']);
    expect(await uploadState()).toBe('stalled');
    expect(await state()).toBe('recording');
    expect(store.seen.blocked).toBeGreaterThanOrEqual(3);
  });

  it("returns to 'ok' once the store answers with CORS, and stop() keeps everything", async () => {
    store.blocked = false;
    const opened = Date.now();
    // The next try of each part comes within the backoff (at most 15 s), later on a loaded machine.
    const states = await until(uploadState, (s) => s === 'ok', 60_000);
    console.info(`ok ${Date.now() - opened} ms after the store opened (${store.seen.open} requests passed)`);
    expect(states).toBe('ok');
    expect(await state()).toBe('recording');
    const { recording, pageRecordedMs } = await page.evaluate(() =>
      (window as unknown as { stopBlocked(): Promise<{ recording: Recording; pageRecordedMs: number }> }).stopBlocked(),
    );
    const log = await readLog();
    expect(recording.status).toBe('ready');
    expect(log.uploadStates).toEqual(['stalled', 'ok']);
    expect(log.errors).toHaveLength(1);
    expect(log.states).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
    const p = probe(await download(svc.baseUrl, recording.id));
    console.info(`recorded ${pageRecordedMs.toFixed(0)} ms by the page's clock; ffprobe ${p.formatDuration} s`);
    // Nothing lost while blocked: the parts waited in memory and went up once the store opened.
    expect(Math.abs(p.formatDuration * 1000 - pageRecordedMs)).toBeLessThan(1000);
  });
});
