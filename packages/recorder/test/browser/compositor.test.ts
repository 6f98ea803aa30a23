/**
 * Recording an element. A real browser (Chromium, or Firefox in the
 * browser-firefox project: driver.ts) records a
 * stage of layered canvases under a CSS url() cursor through the SDK and the
 * real service; ffmpeg decodes the stored file and the pixels are checked:
 * the base, the overlay at its place, the cursor image with its hotspot at
 * the pointer, a hidden canvas left out, a layer added mid-recording picked
 * up; the file holds every frame the compositor drew. Then a resize mid-recording: the file decodes to the end, its duration
 * is right, and the content is drawn at both scales.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, mintToken, probe, startService, USER, type TestService } from './harness.js';
import { launchBrowser, openTestPage, type TestBrowser, type TestPage } from './driver.js';
import { COLOURS, type SceneOptions } from './compositor-scene.js';
import { decodeErrors, frameAt, near, videoSize, withFile, type Frame } from './frames.js';

let svc: TestService;
let browser: TestBrowser;

beforeAll(async () => {
  svc = await startService();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

type Rgb = [number, number, number];
const rgb = (c: readonly number[]) => [...c] as Rgb;
const call = <T>(page: TestPage, fn: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(
    ([f, a]) => (window as unknown as Record<string, (...x: unknown[]) => unknown>)[f as string]!(...(a as unknown[])),
    [fn, args] as const,
  ) as Promise<T>;

async function stagePage(scene: SceneOptions): Promise<TestPage> {
  const page = await openTestPage(browser, svc.baseUrl, './compositor-entry.ts');
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
  await call(page, 'buildScene', scene);
  return page;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an element with stacked canvases under a url() cursor', () => {
  const scene: SceneOptions = {
    width: 320,
    height: 240,
    hotspot: [3, 4],
    overlay: { x: 200, y: 40, w: 80, h: 60 },
    hidden: { x: 20, y: 150, w: 60, h: 40 },
  };
  const pointer = { x: 100, y: 100 };
  const late = { x: 20, y: 40, w: 50, h: 50 };
  let before: Frame;
  let after: Frame;
  let size: { width: number; height: number };
  let tickSource: string;
  let drawn: number;
  let packets: number;

  beforeAll(async () => {
    const page = await stagePage(scene);
    tickSource = await call<string>(page, 'tickSourceHere');
    await call(page, 'startStage', { sessionId: 'sess-compositor', frameRate: 15 });
    // The stage sits at the page's top-left, so page and stage coordinates agree.
    await page.mouseMove(10, 10);
    await page.mouseMove(pointer.x, pointer.y);
    await sleep(1500);
    const added = await call<{ before: number; after: number }>(page, 'addLateLayer', late);
    await sleep(1500);
    const { recording, framesDrawn } = await call<{
      recording: { id: string; durationMs: number };
      framesDrawn: number;
    }>(page, 'stopStage');
    await page.close();
    const bytes = await download(svc.baseUrl, recording.id);
    drawn = framesDrawn;
    packets = probe(bytes).packets;
    console.info(
      `layers: ${framesDrawn} frames drawn, ${packets} in the file over ${recording.durationMs} ms ` +
        `(${((packets * 1000) / recording.durationMs).toFixed(1)} fps of 15 asked)`,
    );
    withFile(
      bytes,
      (file) => {
        size = videoSize(file);
        before = frameAt(file, added.before / 1000 - 0.4);
        after = frameAt(file, added.after / 1000 + 1.0);
      },
      'layers',
    );
  });

  it('paces frames from a Worker (the clock a hidden tab keeps)', () => {
    expect(tickSource).toBe('worker');
  });

  it('holds every frame the compositor drew', () => {
    // Counted against this run's draws, not a rate a loaded machine may not reach: a stream that records two
    // frames in three (Firefox's requestFrame()) fails this.
    expect(packets).toBeGreaterThanOrEqual(Math.floor(drawn * 0.9));
  });

  it('is the size of the element', () => {
    expect(size).toEqual({ width: 320, height: 240 });
  });

  it('shows the base where nothing covers it', () => {
    for (const f of [before, after]) {
      expect(near(f.at(150, 20), rgb(COLOURS.base)), `base at (150,20): ${f.at(150, 20)}`).toBe(true);
      expect(near(f.at(300, 200), rgb(COLOURS.base)), `base at (300,200): ${f.at(300, 200)}`).toBe(true);
    }
  });

  it('shows the overlay at its place, and not beyond it', () => {
    const o = scene.overlay;
    for (const f of [before, after]) {
      for (const [x, y] of [
        [o.x + 4, o.y + 4],
        [o.x + o.w / 2, o.y + o.h / 2],
        [o.x + o.w - 5, o.y + o.h - 5],
      ] as const)
        expect(near(f.at(x, y), rgb(COLOURS.overlay)), `overlay at (${x},${y}): ${f.at(x, y)}`).toBe(true);
      for (const [x, y] of [
        [o.x - 6, o.y + o.h / 2],
        [o.x + o.w / 2, o.y + o.h + 6],
      ] as const)
        expect(near(f.at(x, y), rgb(COLOURS.base)), `base beside the overlay (${x},${y}): ${f.at(x, y)}`).toBe(true);
    }
  });

  it('draws the cursor image with its hotspot at the pointer', () => {
    // The 16×16 image's top-left is at pointer − hotspot.
    const left = pointer.x - scene.hotspot[0];
    const top = pointer.y - scene.hotspot[1];
    for (const f of [before, after]) {
      for (const [x, y] of [
        [left + 2, top + 2],
        [left + 8, top + 8],
        [left + 13, top + 13],
      ] as const)
        expect(near(f.at(x, y), rgb(COLOURS.cursor)), `cursor at (${x},${y}): ${f.at(x, y)}`).toBe(true);
      for (const [x, y] of [
        [left - 5, top + 8],
        [left + 8, top - 5],
        [left + 21, top + 8],
      ] as const)
        expect(near(f.at(x, y), rgb(COLOURS.base)), `base around the cursor (${x},${y}): ${f.at(x, y)}`).toBe(true);
    }
  });

  it('leaves out a canvas with visibility: hidden', () => {
    const h = scene.hidden!;
    for (const f of [before, after]) expect(near(f.at(h.x + h.w / 2, h.y + h.h / 2), rgb(COLOURS.base))).toBe(true);
  });

  it('picks up a canvas added while recording, on top, from the next frames', () => {
    const cx = late.x + late.w / 2;
    const cy = late.y + late.h / 2;
    expect(near(before.at(cx, cy), rgb(COLOURS.base)), `before: ${before.at(cx, cy)}`).toBe(true);
    expect(near(after.at(cx, cy), rgb(COLOURS.late)), `after: ${after.at(cx, cy)}`).toBe(true);
  });
});

describe('the element resized mid-recording', () => {
  const scene: SceneOptions = { width: 320, height: 240, hotspot: [0, 0], overlay: { x: 20, y: 20, w: 40, h: 40 } };
  let small: Frame;
  let large: Frame;
  let errors: string;
  let durationS: number;
  let lastPacketEnd: number;
  let recordedMs: number;

  beforeAll(async () => {
    const page = await stagePage(scene);
    await call(page, 'startStage', { sessionId: 'sess-resize', frameRate: 15 });
    await sleep(1500);
    // 640×360 into the 320×240 capture: scaled by 1/2 to 320×180, centred with 30 px black bars above and below.
    const resized = await call<{ before: number; after: number }>(page, 'resizeStage', 640, 360);
    await sleep(2000);
    const { recording } = await call<{ recording: { id: string; durationMs: number } }>(page, 'stopStage');
    await page.close();
    recordedMs = recording.durationMs;
    const bytes = await download(svc.baseUrl, recording.id);
    const p = probe(bytes);
    durationS = p.formatDuration;
    lastPacketEnd = p.lastPacketEnd;
    withFile(
      bytes,
      (file) => {
        errors = decodeErrors(file);
        small = frameAt(file, resized.before / 1000 - 0.5);
        large = frameAt(file, resized.after / 1000 + 1.2);
      },
      'resize',
    );
  });

  it('plays to the end: ffmpeg decodes every frame without a word', () => {
    expect(errors).toBe('');
  });

  it('has the duration recorded, to the last frame', () => {
    console.info(`resize: recorded ${recordedMs} ms; ffprobe ${durationS} s, last frame ends ${lastPacketEnd} s`);
    expect(recordedMs).toBeGreaterThan(3000);
    expect(Math.abs(durationS - recordedMs / 1000)).toBeLessThan(0.5);
    expect(Math.abs(lastPacketEnd - recordedMs / 1000)).toBeLessThan(0.5);
  });

  it('draws the content 1:1 before, and scaled to fit with black bars after', () => {
    const black: Rgb = [0, 0, 0];
    // Before: 1:1, the overlay covers (20..60, 20..60), the base reaches the top edge.
    expect(near(small.at(40, 40), rgb(COLOURS.overlay)), `small (40,40): ${small.at(40, 40)}`).toBe(true);
    expect(near(small.at(55, 55), rgb(COLOURS.overlay))).toBe(true);
    expect(near(small.at(160, 10), rgb(COLOURS.base)), `small (160,10): ${small.at(160, 10)}`).toBe(true);
    // After: ×1/2 and 30 px down; the overlay covers (10..30, 40..60); bars at y < 30 and y ≥ 210.
    expect(near(large.at(20, 50), rgb(COLOURS.overlay)), `large (20,50): ${large.at(20, 50)}`).toBe(true);
    expect(near(large.at(45, 50), rgb(COLOURS.base)), `large (45,50): ${large.at(45, 50)}`).toBe(true);
    expect(near(large.at(20, 70), rgb(COLOURS.base)), `large (20,70): ${large.at(20, 70)}`).toBe(true);
    expect(near(large.at(160, 10), black), `bar (160,10): ${large.at(160, 10)}`).toBe(true);
    expect(near(large.at(160, 230), black), `bar (160,230): ${large.at(160, 230)}`).toBe(true);
    expect(near(large.at(160, 120), rgb(COLOURS.base)), `large (160,120): ${large.at(160, 120)}`).toBe(true);
  });
});
