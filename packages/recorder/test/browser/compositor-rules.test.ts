/**
 * The compositor's rules, read straight from its capture canvas in Chromium
 * (no encoder, so colours are exact): stacking order, opacity, what is left
 * out, the pointer's keyword arrow, hiding outside the element, and the
 * adapter's pointer. The recorded pixels are compositor.test.ts's.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { launch, openPage } from './harness.js';

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launch();
  // No service: the harness's page route answers the page itself.
  page = await openPage(browser, 'http://127.0.0.1:9', './compositor-entry.ts');
});

afterAll(async () => {
  await browser?.close();
});

type Rgb = number[];
const compose = (html: string, options: { cursor?: boolean } = {}) =>
  page.evaluate(
    ([h, o]) => (window as unknown as { composeHtml(h: string, o: unknown): void }).composeHtml(h as string, o),
    [html, options] as const,
  );
const sample = (points: [number, number][]) =>
  page.evaluate((p) => (window as unknown as { sampleFrame(p: [number, number][]): Rgb[] }).sampleFrame(p), points);
const pointer = (p: unknown) =>
  page.evaluate((x) => (window as unknown as { pointerOnDirect(p: unknown): void }).pointerOnDirect(x), p);

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
const GREEN = [0, 255, 0];
const BLACK = [0, 0, 0];
const WHITE = [255, 255, 255];

/** A 200×100 stage at the page's top-left; `inner` goes inside it. */
const stage = (inner: string, style = '') =>
  `<div id="stage" style="position:relative;width:200px;height:100px;${style}">${inner}</div>`;
/** An absolutely placed canvas w×h at (x, y) filled with `fill`. */
const cv = (x: number, y: number, w: number, h: number, fill: string, style = '') =>
  `<canvas width="${w}" height="${h}" data-fill="${fill}" style="position:absolute;left:${x}px;top:${y}px;width:${w}px;height:${h}px;${style}"></canvas>`;

describe('stacking order', () => {
  it('a higher z-index is on top whatever the DOM order; equal z-indexes keep DOM order', async () => {
    await compose(
      stage(
        cv(0, 0, 100, 100, 'red', 'z-index:5') +
          cv(0, 0, 100, 100, 'blue', 'z-index:1') +
          cv(100, 0, 100, 100, 'red', 'z-index:1') +
          cv(100, 0, 100, 100, 'blue', 'z-index:1'),
      ),
      { cursor: false },
    );
    expect(
      await sample([
        [50, 50],
        [150, 50],
      ]),
    ).toEqual([RED, BLUE]);
  });

  it("a wrapper's z-index ranks every canvas inside it (Guacamole's layer divs)", async () => {
    // The canvas with z-index 9 is inside a wrapper of z-index 1: it stays under the canvas of z-index 2.
    await compose(
      stage(
        `<div style="position:absolute;left:0;top:0;z-index:1">${cv(0, 0, 100, 100, 'red', 'z-index:9')}</div>` +
          cv(0, 0, 100, 100, 'blue', 'z-index:2'),
      ),
      { cursor: false },
    );
    expect(await sample([[50, 50]])).toEqual([BLUE]);
  });
});

describe('what is drawn and how', () => {
  it('draws a canvas at its CSS size and place, scaled from its bitmap', async () => {
    // A 10×10 bitmap shown at 50×50 at (20, 30).
    await compose(
      stage(
        `<canvas width="10" height="10" data-fill="red" style="position:absolute;left:20px;top:30px;width:50px;height:50px"></canvas>`,
      ),
      { cursor: false },
    );
    expect(
      await sample([
        [22, 32],
        [67, 77],
        [17, 50],
        [50, 83],
      ]),
    ).toEqual([RED, RED, BLACK, BLACK]);
  });

  it('multiplies the opacity of the canvas and its ancestors inside the element', async () => {
    await compose(
      stage(
        cv(0, 0, 200, 100, 'white') + `<div style="opacity:0.5">${cv(0, 0, 100, 100, 'black', 'opacity:0.5')}</div>`,
      ),
      { cursor: false },
    );
    const [c] = await sample([[50, 50]]);
    // Black at 25 % over white: 191 (±2 for rounding).
    for (const v of c!) expect(Math.abs(v - 191)).toBeLessThanOrEqual(2);
  });

  it('leaves out display:none, visibility:hidden, opacity 0, zero size and canvases outside the element', async () => {
    await compose(
      stage(
        cv(0, 0, 200, 100, 'blue') +
          cv(0, 0, 40, 40, 'red', 'display:none;z-index:9') +
          `<div style="display:none">${cv(40, 0, 40, 40, 'red', 'z-index:9')}</div>` +
          cv(80, 0, 40, 40, 'red', 'visibility:hidden;z-index:9') +
          cv(120, 0, 40, 40, 'red', 'opacity:0;z-index:9') +
          cv(160, 0, 40, 40, 'red', 'width:0;z-index:9') +
          cv(300, 0, 40, 40, 'red', 'z-index:9'),
      ),
      { cursor: false },
    );
    expect(
      await sample([
        [20, 20],
        [60, 20],
        [100, 20],
        [140, 20],
        [180, 20],
      ]),
    ).toEqual([BLUE, BLUE, BLUE, BLUE, BLUE]);
  });

  it('picks up a canvas added after the compositor was made, and drops one removed', async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue')), { cursor: false });
    expect(await sample([[50, 50]])).toEqual([BLUE]);
    await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = c.height = 100;
      c.style.cssText = 'position:absolute;left:0;top:0';
      const ctx = c.getContext('2d')!;
      ctx.fillStyle = 'red';
      ctx.fillRect(0, 0, 100, 100);
      c.id = 'late';
      document.getElementById('stage')!.appendChild(c);
    });
    expect(await sample([[50, 50]])).toEqual([RED]);
    await page.evaluate(() => document.getElementById('late')!.remove());
    expect(await sample([[50, 50]])).toEqual([BLUE]);
  });
});

describe('the pointer', () => {
  it('draws an arrow for a keyword cursor, tip at the pointer, and hides it when the pointer leaves', async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue'), 'cursor:default'));
    await page.mouse.move(150, 90);
    await page.mouse.move(50, 30);
    // The arrow's white body starts at its tip and runs down its left edge.
    const [inside, beside] = await sample([
      [2, 8].map((d, i) => (i === 0 ? 50 + d : 30 + d)) as [number, number],
      [40, 30],
    ]);
    expect(inside).toEqual(WHITE);
    expect(beside).toEqual(BLUE);
    await page.mouse.move(400, 300); // outside the stage: pointerleave
    expect(await sample([[52, 38]])).toEqual([BLUE]);
  });

  it('draws nothing for cursor: none', async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue'), 'cursor:none'));
    await page.mouse.move(150, 90);
    await page.mouse.move(50, 30);
    expect(await sample([[52, 38]])).toEqual([BLUE]);
  });

  it("draws the adapter's pointer at its place with its hotspot, instead of the DOM's, until set to null", async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue'), 'cursor:default'));
    await page.mouse.move(10, 10);
    await pointer({ x: 100, y: 50, visible: true, image: 'green16', hotspotX: 8, hotspotY: 8 });
    // The image spans (92..108, 42..58); the DOM pointer at (10, 10) is not drawn.
    expect(
      await sample([
        [93, 43],
        [107, 57],
        [90, 50],
        [12, 18],
      ]),
    ).toEqual([GREEN, GREEN, BLUE, BLUE]);
    await pointer({ x: 100, y: 50, visible: false });
    expect(await sample([[100, 50]])).toEqual([BLUE]);
    await pointer(null);
    expect(
      await sample([
        [12, 18],
        [100, 50],
      ]),
    ).toEqual([WHITE, BLUE]);
  });

  it("draws noVNC's cursor: url(data:…)x y, default set on its canvas (no space before the hotspot)", async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue', 'cursor:default')));
    // What noVNC's core/util/cursor.js does: `'url(' + url + ')' + hotx + ' ' + hoty + ', default'` on the canvas.
    await page.evaluate(() => {
      const img = document.createElement('canvas');
      img.width = img.height = 16;
      const ctx = img.getContext('2d')!;
      ctx.fillStyle = 'rgb(0,255,0)';
      ctx.fillRect(0, 0, 16, 16);
      document.querySelector<HTMLCanvasElement>('#stage canvas')!.style.cursor =
        'url(' + img.toDataURL() + ')' + 5 + ' ' + 6 + ', default';
    });
    await page.mouse.move(150, 90);
    await page.mouse.move(60, 40);
    // The image loads asynchronously (the arrow stands in until then): wait for it, then check its place.
    await vi.waitFor(async () => expect(await sample([[60, 40]])).toEqual([GREEN]), { timeout: 10_000 });
    // Top-left at pointer − hotspot = (55, 34), 16×16.
    expect(
      await sample([
        [56, 35],
        [70, 49],
        [53, 40],
        [60, 32],
        [72, 40],
      ]),
    ).toEqual([GREEN, GREEN, BLUE, BLUE, BLUE]);
  });

  it("loads an adapter's pointer image given as a URL", async () => {
    await compose(stage(cv(0, 0, 200, 100, 'blue')));
    const url = await page.evaluate(() => {
      const img = document.createElement('canvas');
      img.width = img.height = 10;
      const ctx = img.getContext('2d')!;
      ctx.fillStyle = 'rgb(255,0,0)';
      ctx.fillRect(0, 0, 10, 10);
      return img.toDataURL();
    });
    await page.evaluate(
      (u) => (window as unknown as { pointerUrlOnDirect(u: string): void }).pointerUrlOnDirect(u),
      url,
    );
    await vi.waitFor(async () => expect(await sample([[152, 52]])).toEqual([RED]), { timeout: 10_000 });
    expect(
      await sample([
        [149, 52],
        [159, 59],
        [161, 55],
      ]),
    ).toEqual([BLUE, RED, BLUE]);
  });
});
