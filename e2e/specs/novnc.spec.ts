/**
 * Recording a real noVNC session. Xvfb + x11vnc + websockify
 * on loopback (fixtures/x-desktop.ts) show a magenta desktop with a green
 * window at a known place; noVNC from npm connects to it in the page, and
 * the SDK records noVNC's target element.
 *
 * Which pointer the recording shows: noVNC does not draw the remote pointer
 * into its canvas; it sets the remote cursor's image as the canvas's CSS
 * cursor, and the remote pointer follows the local mouse over the canvas
 * (noVNC sends each move to the server). So the test moves the local mouse
 * over the canvas, checks with xdotool that X moved the remote pointer to the
 * same desktop coordinates, and then finds the remote cursor's image (X's own
 * cursor, as x11vnc sent it and noVNC set it), drawn by the SDK with its
 * hotspot, at those coordinates in the recorded frames.
 */
import { cursorMatch, near, sampleFrames, type CursorImage, type Frame } from '../fixtures/frames.ts';
import { ffprobe } from '../fixtures/browser.ts';
import type { Rgb } from '../fixtures/x-desktop.ts';
import {
  DESKTOP_SCENE,
  expect,
  openViewer,
  recordedAtLeast,
  startRecording,
  stopAndDownload,
  test,
} from '../fixtures/viewers.ts';

const scene = DESKTOP_SCENE;
/** Where the pointer goes, in desktop pixels: inside the window, the whole cursor on it. */
const POINTER = { x: scene.window.x + 80, y: scene.window.y + 60 };

test('a real noVNC session is recorded with its window and the remote cursor at the pointer', async ({
  page,
  desktop,
  service,
  viewerPages,
}, testInfo) => {
  const token = await openViewer(page, 'novnc', {
    pages: viewerPages,
    serviceUrl: service.url,
    sessionId: `e2e-${testInfo.project.name}-novnc`,
    ws: desktop.websocketUrl,
  });
  const canvas = page.locator('#screen canvas');
  // noVNC drew the remote screen: the window's colour where the window is, the background elsewhere.
  const remotePixel = (x: number, y: number) =>
    canvas.evaluate(
      (c: HTMLCanvasElement, [x, y]) => [...c.getContext('2d')!.getImageData(x!, y!, 1, 1).data.slice(0, 3)],
      [x, y],
    );
  await expect.poll(() => remotePixel(scene.window.x + 10, scene.window.y + 10)).toEqual([...scene.window.color]);
  await expect.poll(() => remotePixel(10, 10)).toEqual([...scene.background]);
  // x11vnc sent X's cursor shape, and noVNC made it the canvas's CSS cursor: a data: URL with its hotspot.
  await expect
    .poll(() => canvas.evaluate((c) => c.style.cursor))
    .toMatch(/^url\("data:image\/png;base64,[^"]+"\) \d+ \d+, default$/);
  const cursor = await canvas.evaluate(async (c): Promise<CursorImage> => {
    const [, url, hotX, hotY] = /^url\("([^"]+)"\) (\d+) (\d+)/.exec(c.style.cursor)!;
    const img = new Image();
    img.src = url!;
    await img.decode();
    const k = document.createElement('canvas');
    k.width = img.width;
    k.height = img.height;
    const ctx = k.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const rgba = [...ctx.getImageData(0, 0, k.width, k.height).data];
    return { width: k.width, height: k.height, hotX: Number(hotX), hotY: Number(hotY), rgba };
  });
  expect(
    cursor.rgba.some((v, i) => i % 4 === 3 && v > 128),
    'the remote cursor has visible pixels',
  ).toBe(true);

  const id = await startRecording(page);
  // The local mouse over the canvas moves the remote pointer: the spec checks X has it where the mouse is.
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + 5, box.y + 5);
  await page.mouse.move(box.x + POINTER.x, box.y + POINTER.y, { steps: 5 });
  await expect.poll(() => desktop.pointer()).toEqual(POINTER);
  const parkedAt = await page.evaluate(() => window.sortieViewer.recordedMs());
  // Two more seconds with the pointer parked, so the last frames show it there.
  await recordedAtLeast(page, Math.max(3000, parkedAt + 2000));
  const file = testInfo.outputPath('novnc.webm');
  await stopAndDownload(page, { serviceUrl: service.url, token, id, file });

  const probe = ffprobe(file);
  expect(probe.formatName).toContain('webm');
  expect(probe.durationSeconds).toBeGreaterThan(2.5);
  const frames = sampleFrames(file);
  expect(frames.length).toBeGreaterThanOrEqual(4);
  const last = frames.at(-1)!;
  // The recording is of the element (640×480 CSS px here); the canvas sits at its top left.
  const target = (await page.locator('#screen').boundingBox())!;
  const sx = last.width / target.width;
  const sy = last.height / target.height;
  const offX = box.x - target.x;
  const offY = box.y - target.y;
  /** The colour of a frame at desktop pixel (x, y). */
  const at = (f: Frame, x: number, y: number) => f.at((offX + x) * sx, (offY + y) * sy);
  const expectAt = (f: Frame, x: number, y: number, want: Rgb, what: string) =>
    expect(
      near(at(f, x, y), want),
      `${what} at (${x}, ${y}) of frame ${f.index}: got ${at(f, x, y).join(',')}, want ${want.join(',')}`,
    ).toBe(true);

  // The desktop and the window where X put them, in every frame (the points are off the pointer's path).
  const w = scene.window;
  for (const f of frames) {
    expectAt(f, scene.width - 20, 20, scene.background, 'background');
    expectAt(f, scene.width - 20, scene.height - 20, scene.background, 'background');
    expectAt(f, w.x + 10, w.y + w.height - 10, w.color, 'window, bottom left');
    expectAt(f, w.x + w.width - 10, w.y + 10, w.color, 'window, top right');
    expectAt(f, w.x + w.width - 10, w.y + w.height - 10, w.color, 'window, bottom right');
    expectAt(f, w.x - 10, w.y + w.height - 10, scene.background, 'left of the window');
    expectAt(f, w.x + w.width + 10, w.y + 10, scene.background, 'right of the window');
    expectAt(f, w.x + w.width - 10, w.y + w.height + 10, scene.background, 'below the window');
  }

  // The remote cursor's image at the pointer, its hotspot on the pointer: the frame there matches the
  // cursor drawn over the window, and not the window alone.
  expect([last.width, last.height], 'the recording is the size of the element').toEqual([target.width, target.height]);
  const match = cursorMatch(last, cursor, offX + POINTER.x, offY + POINTER.y, w.color);
  const msg = `cursor at (${POINTER.x}, ${POINTER.y}): mean luma error ${match.withCursor.toFixed(1)} with it, ${match.without.toFixed(1)} without, over ${match.pixels} pixels`;
  testInfo.annotations.push({ type: 'cursor', description: msg });
  expect(match.withCursor, msg).toBeLessThan(25);
  expect(match.without, msg).toBeGreaterThan(match.withCursor * 3);
  // And nowhere else: the same comparison 60 px to the right finds the window alone.
  const elsewhere = cursorMatch(last, cursor, offX + POINTER.x + 60, offY + POINTER.y, w.color);
  expect(elsewhere.without, `no cursor 60 px right of the pointer: ${JSON.stringify(elsewhere)}`).toBeLessThan(10);
});

test('the remote screen changing resolution mid-recording (RandR): the file plays to the end and shows both sizes', async ({
  page,
  desktop,
  service,
  viewerPages,
}, testInfo) => {
  // noVNC scales the remote screen to fit its target, as an embedding page does when the resolution may change.
  const token = await openViewer(page, 'novnc', {
    pages: viewerPages,
    serviceUrl: service.url,
    sessionId: `e2e-${testInfo.project.name}-novnc-resize`,
    ws: desktop.websocketUrl,
    query: { scale: '1' },
  });
  const canvas = page.locator('#screen canvas');
  const remotePixel = (x: number, y: number) =>
    canvas.evaluate(
      (c: HTMLCanvasElement, [x, y]) => [...c.getContext('2d')!.getImageData(x!, y!, 1, 1).data.slice(0, 3)],
      [x, y],
    );
  await expect.poll(() => remotePixel(scene.window.x + 10, scene.window.y + 10)).toEqual([...scene.window.color]);
  // The local mouse outside the target: no pointer of the SDK's own in the frames.
  await page.mouse.move(5, 5);

  const id = await startRecording(page);
  await recordedAtLeast(page, 2000);
  const big = { width: scene.maxWidth, height: scene.maxHeight };
  await desktop.resize(big.width, big.height);
  // x11vnc sent the new size, noVNC resized its canvas and scaled it to fit the target.
  await expect
    .poll(() => canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]))
    .toEqual([big.width, big.height]);
  await expect.poll(() => remotePixel(big.width - 20, big.height - 20)).toEqual([...scene.background]);
  const resizedAt = await page.evaluate(() => window.sortieViewer.recordedMs());
  await recordedAtLeast(page, resizedAt + 2000);
  const target = (await page.locator('#screen').boundingBox())!;
  const shown = (await canvas.boundingBox())!;
  const file = testInfo.outputPath('novnc-resize.webm');
  // The SDK's clock at stop(), not read before the bounding boxes above: a loaded machine spends time there.
  const { recordedMs } = await stopAndDownload(page, { serviceUrl: service.url, token, id, file });

  // One file that plays to the end: every frame decodes, and it is as long as it was recorded.
  const probe = ffprobe(file);
  expect(probe.durationSeconds, 'duration in the file').not.toBeNull();
  expect(
    Math.abs(probe.durationSeconds! - recordedMs / 1000),
    `file ${probe.durationSeconds} s, recorded ${recordedMs} ms`,
  ).toBeLessThan(1);
  const frames = sampleFrames(file);
  expect(frames.length).toBeGreaterThanOrEqual(Math.floor(probe.durationSeconds! * 2) - 1);
  const first = frames[0]!;
  const last = frames.at(-1)!;
  expect([last.width, last.height], 'the capture keeps the size at start').toEqual([target.width, target.height]);
  const expectAt = (f: Frame, x: number, y: number, want: Rgb, what: string) =>
    expect(near(f.at(x, y), want), `${what} at (${x}, ${y}) of frame ${f.index}: got ${f.at(x, y).join(',')}`).toBe(
      true,
    );
  const w = scene.window;

  // Before: the 640×480 screen, 1:1.
  expectAt(first, 20, 20, scene.background, 'background before the resize');
  expectAt(first, w.x + 10, w.y + 10, w.color, 'window before the resize');
  expectAt(first, w.x + w.width + 10, w.y + 10, scene.background, 'right of the window before the resize');

  // After: the 960×540 screen as noVNC lays it out in the 640×480 target (scaled by 2/3, centred),
  // with black above and below, where no canvas is.
  const s = shown.width / big.width;
  const ox = shown.x - target.x;
  const oy = shown.y - target.y;
  expect(s).toBeCloseTo(2 / 3, 2);
  expect(oy).toBeGreaterThan(40);
  const at = (x: number, y: number): [number, number] => [ox + x * s, oy + y * s];
  expectAt(last, target.width / 2, oy / 2, [0, 0, 0], 'above the scaled screen');
  expectAt(last, target.width / 2, target.height - oy / 2, [0, 0, 0], 'below the scaled screen');
  expectAt(last, ...at(20, 20), scene.background, 'background, top left');
  expectAt(last, ...at(big.width - 20, big.height - 20), scene.background, 'background in the new area, bottom right');
  expectAt(last, ...at(w.x + 15, w.y + 15), w.color, 'window, scaled');
  expectAt(last, ...at(w.x + w.width - 15, w.y + w.height - 15), w.color, 'window, scaled, bottom right');
  expectAt(last, ...at(w.x + w.width + 20, w.y + 15), scene.background, 'right of the window, scaled');
});
