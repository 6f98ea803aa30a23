/**
 * A hidden tab keeps recording. An element is
 * recorded in one tab; a second tab is brought to the front, so the first is
 * really hidden (document.visibilityState 'hidden', its requestAnimationFrame
 * stopped and its timers throttled — see background-tab.ts for why this needs
 * a Chromium that Playwright does not keep visible); then it comes back. The
 * stored file has frames all through the hidden interval (at least one in
 * every second of it) and lasts as long as the recording did by the page's
 * clock (capture to stop()).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchWithBackgroundTabs, type BackgroundBrowser } from './background-tab.js';
import { download, loadPage, mintToken, probe, startService, USER, type TestService } from './harness.js';
import { packetTimes, withFile } from './frames.js';

let svc: TestService;
let chromium: BackgroundBrowser;

beforeAll(async () => {
  svc = await startService();
  chromium = await launchWithBackgroundTabs();
});

afterAll(async () => {
  await chromium?.close();
  await svc?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = <T>(page: Page, fn: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(
    ([f, a]) => (window as unknown as Record<string, (...x: unknown[]) => unknown>)[f as string]!(...(a as unknown[])),
    [fn, args] as const,
  ) as Promise<T>;

describe('recording an element in a tab that goes to the background', () => {
  const HIDDEN_MS = 8000;
  let hiddenFrom = 0;
  let hiddenTo = 0;
  let stateWhileBehind = '';
  let wallMs = 0;
  let recordedMs = 0;
  let times: number[] = [];
  let lastPacketEnd = 0;
  let formatDuration = 0;

  beforeAll(async () => {
    const page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await loadPage(page, svc.baseUrl, './compositor-entry.ts');
    await page.exposeFunction('testToken', () => mintToken(USER, 600));
    await call(page, 'buildScene', {
      width: 320,
      height: 240,
      hotspot: [0, 0],
      overlay: { x: 10, y: 10, w: 40, h: 40 },
    });
    await call(page, 'startStage', { sessionId: 'sess-hidden-tab', frameRate: 15 });
    await sleep(2000);
    const other = await chromium.context.newPage();
    await other.bringToFront();
    await sleep(HIDDEN_MS);
    stateWhileBehind = await call<string>(page, 'visibilityNow');
    await page.bringToFront();
    await other.close();
    await sleep(2000);
    const r = await call<{
      recording: { id: string; durationMs: number };
      wallMs: number;
      visibility: { at: number; state: string }[];
    }>(page, 'stopStage');
    wallMs = r.wallMs;
    recordedMs = r.recording.durationMs;
    hiddenFrom = (r.visibility.find((v) => v.state === 'hidden')?.at ?? NaN) / 1000;
    hiddenTo = (r.visibility.find((v) => v.state === 'visible')?.at ?? NaN) / 1000;
    const bytes = await download(svc.baseUrl, r.recording.id);
    ({ lastPacketEnd, formatDuration } = probe(bytes));
    times = withFile(bytes, packetTimes, 'hidden-tab');
  });

  it('was really hidden behind the other tab', () => {
    expect(stateWhileBehind).toBe('hidden');
    expect(hiddenTo - hiddenFrom).toBeGreaterThan(HIDDEN_MS / 1000 - 1);
  });

  it('kept producing frames while hidden: at least one in every second of it', () => {
    const inside = times.filter((t) => t >= hiddenFrom && t < hiddenTo);
    const seconds = Math.floor(hiddenTo - hiddenFrom);
    const perSecond = Array.from(
      { length: seconds },
      (_, i) => inside.filter((t) => t >= hiddenFrom + i && t < hiddenFrom + i + 1).length,
    );
    console.info(
      `hidden from ${hiddenFrom.toFixed(2)} s to ${hiddenTo.toFixed(2)} s: ${inside.length} frames ` +
        `(${(inside.length / (hiddenTo - hiddenFrom)).toFixed(1)} fps); per second: ${perSecond.join(' ')}`,
    );
    for (const n of perSecond) expect(n).toBeGreaterThanOrEqual(1);
  });

  // wallMs: the page's clock from capture's start (the recorder's 'capture') to stop(), as the SDK counts it;
  // from start() resolving instead, a loaded machine's late confirmation of the start would count against it.
  it("lasts as long as it was recorded by the page's clock, within 0.5 s", () => {
    console.info(
      `wall ${(wallMs / 1000).toFixed(3)} s, durationMs ${recordedMs}, ffprobe ${formatDuration} s, last frame ends ${lastPacketEnd} s`,
    );
    expect(Math.abs(recordedMs - wallMs)).toBeLessThan(500);
    expect(Math.abs(formatDuration - wallMs / 1000)).toBeLessThan(0.5);
    expect(Math.abs(lastPacketEnd - wallMs / 1000)).toBeLessThan(0.5);
  });
});
