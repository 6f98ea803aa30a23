/**
 * Recording a real guacamole-common-js client. Debian has no
 * guacd, so a loopback WebSocket endpoint speaks the Guacamole protocol from
 * a script (fixtures/guacamole-tunnel.ts): `size` and `rect`/`cfill` on the
 * default layer, two child layers placed with `move` (one above the other
 * by z, the upper one half transparent with `shade`), a cursor image drawn
 * into a buffer and set with `cursor`, the remote pointer put with `mouse`,
 * and `sync`. The page runs Guacamole.Client over Guacamole.WebSocketTunnel
 * with its own Guacamole.Display, and the SDK records
 * `display.getElement()`.
 *
 * The pointer here is the remote one: Guacamole draws it into its own
 * cursor layer (a canvas the SDK composites like any other), at the place
 * the server's `mouse` put it. The local mouse stays outside the element, so
 * the SDK's own pointer is hidden and what the frames show at the pointer
 * comes from the server.
 */
import { blend, near, sampleFrames, type Frame } from '../fixtures/frames.ts';
import { encodeInstruction } from '../fixtures/guacamole-tunnel.ts';
import { ffprobe } from '../fixtures/browser.ts';
import type { Rgb } from '../fixtures/x-desktop.ts';
import {
  expect,
  GUACAMOLE_SCENE,
  openViewer,
  recordedAtLeast,
  startRecording,
  stopAndDownload,
  test,
} from '../fixtures/viewers.ts';

const scene = GUACAMOLE_SCENE;

test('a Guacamole display is recorded with its layers stacked by z, their opacity, and the remote cursor at the pointer', async ({
  page,
  guacamoleTunnel,
  service,
  viewerPages,
}, testInfo) => {
  const token = await openViewer(page, 'guacamole', {
    pages: viewerPages,
    serviceUrl: service.url,
    sessionId: `e2e-${testInfo.project.name}-guacamole`,
    ws: guacamoleTunnel.url,
  });
  // The script's first frame has been drawn once the client has answered its sync.
  await expect
    .poll(() => guacamoleTunnel.received.some(([opcode]) => opcode === 'sync'), {
      message: 'the client acknowledges a sync',
    })
    .toBe(true);
  const element = page.locator('#screen > div');
  await expect.poll(async () => (await element.boundingBox())?.width).toBe(scene.width);

  // The local mouse well outside the display: the SDK draws no pointer of its own.
  await page.mouse.move(5, 5);
  const id = await startRecording(page);
  await recordedAtLeast(page, 3000);
  const file = testInfo.outputPath('guacamole.webm');
  await stopAndDownload(page, { serviceUrl: service.url, token, id, file });

  const probe = ffprobe(file);
  expect(probe.formatName).toContain('webm');
  expect(probe.durationSeconds).toBeGreaterThan(2.5);
  const frames = sampleFrames(file);
  expect(frames.length).toBeGreaterThanOrEqual(4);
  const last = frames.at(-1)!;
  expect([last.width, last.height], 'the recording is the size of the display element').toEqual([
    scene.width,
    scene.height,
  ]);
  const expectAt = (f: Frame, x: number, y: number, want: Rgb, what: string) =>
    expect(
      near(f.at(x, y), want),
      `${what} at (${x}, ${y}) of frame ${f.index}: got ${f.at(x, y).join(',')}, want ${want.join(',')}`,
    ).toBe(true);

  const [l1, l2] = scene.layers as [(typeof scene.layers)[0], (typeof scene.layers)[0]];
  const a2 = l2.opacity / 255;
  // Every frame: the scene was drawn before the recording started, and it does not change.
  for (const f of frames) {
    // The default layer.
    expectAt(f, 20, 20, scene.background, 'default layer');
    expectAt(f, scene.width - 20, 20, scene.background, 'default layer');
    // Layer 1 (opaque) where `move` put it, and not beyond its edges.
    expectAt(f, l1.x + 10, l1.y + 10, l1.color, 'layer 1, top left');
    expectAt(f, l1.x + 10, l1.y + l1.height - 10, l1.color, 'layer 1, bottom left');
    expectAt(f, l1.x - 10, l1.y + 10, scene.background, 'left of layer 1');
    expectAt(f, l1.x + 10, l1.y - 10, scene.background, 'above layer 1');
    // Layer 2, half transparent (`shade`), above layer 1 (z): blended over layer 1 where they overlap,
    // over the default layer elsewhere.
    expectAt(f, l2.x + 10, l2.y + 10, blend(l2.color, l1.color, a2), 'layer 2 over layer 1');
    expectAt(
      f,
      l2.x + l2.width - 10,
      l2.y + l2.height - 10,
      blend(l2.color, scene.background, a2),
      'layer 2 over the default layer',
    );
    expectAt(f, l2.x + l2.width + 10, l2.y + 10, scene.background, 'right of layer 2');

    // Guacamole's cursor layer: the cursor image with its hotspot on the pointer the server's `mouse` set.
    const c = scene.cursor;
    const left = scene.pointer.x - c.hotX;
    const top = scene.pointer.y - c.hotY;
    expectAt(f, left + 4, top + 4, c.color, 'cursor, top left');
    expectAt(f, left + c.size - 5, top + c.size - 5, c.color, 'cursor, bottom right');
    expectAt(f, scene.pointer.x, scene.pointer.y, c.color, 'cursor, at its hotspot');
    expectAt(f, left - 6, scene.pointer.y, scene.background, 'left of the cursor');
    expectAt(f, left + c.size + 6, scene.pointer.y, scene.background, 'right of the cursor');
    expectAt(f, scene.pointer.x, top + c.size + 6, scene.background, 'below the cursor');
  }
});

test('the remote desktop changing resolution mid-recording: the file plays to the end and shows both sizes', async ({
  page,
  guacamoleTunnel,
  service,
  viewerPages,
}, testInfo) => {
  const token = await openViewer(page, 'guacamole', {
    pages: viewerPages,
    serviceUrl: service.url,
    sessionId: `e2e-${testInfo.project.name}-guacamole-resize`,
    ws: guacamoleTunnel.url,
  });
  await expect.poll(() => guacamoleTunnel.received.some(([opcode]) => opcode === 'sync')).toBe(true);
  const element = page.locator('#screen > div');
  await expect.poll(async () => (await element.boundingBox())?.width).toBe(scene.width);
  await page.mouse.move(5, 5);

  const id = await startRecording(page);
  await recordedAtLeast(page, 2000);
  // The server changes resolution, as guacd does when the remote desktop does: a larger default layer,
  // repainted in another colour. Layer 1, the cursor and the pointer stay where they were.
  const big = { width: 960, height: 540, color: [200, 40, 40] as Rgb };
  guacamoleTunnel.send(
    encodeInstruction('size', 0, big.width, big.height),
    encodeInstruction('rect', 0, 0, 0, big.width, big.height),
    encodeInstruction('cfill', 14, 0, ...big.color, 255),
    encodeInstruction('sync', Date.now()),
  );
  await expect.poll(async () => (await element.boundingBox())?.width).toBe(big.width);
  const resizedAt = await page.evaluate(() => window.sortieViewer.recordedMs());
  await recordedAtLeast(page, resizedAt + 2000);
  const file = testInfo.outputPath('guacamole-resize.webm');
  // The SDK's clock at stop(), not read before it: a loaded machine can take a while to get there.
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
  // The capture keeps the size at start.
  expect([last.width, last.height]).toEqual([scene.width, scene.height]);
  const expectAt = (f: Frame, x: number, y: number, want: Rgb, what: string) =>
    expect(near(f.at(x, y), want), `${what} at (${x}, ${y}) of frame ${f.index}: got ${f.at(x, y).join(',')}`).toBe(
      true,
    );

  // Before: the 640×480 desktop, 1:1.
  const l1 = scene.layers[0]!;
  expectAt(first, 20, 20, scene.background, 'default layer before the resize');
  expectAt(first, l1.x + 10, l1.y + 10, l1.color, 'layer 1 before the resize');
  // After: the 960×540 desktop scaled to fit 640×480 (2/3), centred, with bars above and below.
  const s = Math.min(scene.width / big.width, scene.height / big.height);
  const oy = Math.floor((scene.height - big.height * s) / 2);
  expect(oy).toBe(60);
  expectAt(last, scene.width / 2, oy / 2, [0, 0, 0], 'bar above');
  expectAt(last, scene.width / 2, scene.height - oy / 2, [0, 0, 0], 'bar below');
  expectAt(last, 20, oy + 20, big.color, 'the larger default layer, top left');
  expectAt(last, scene.width - 20, scene.height - oy - 20, big.color, 'the larger default layer, bottom right');
  expectAt(last, (l1.x + 20) * s, oy + (l1.y + 20) * s, l1.color, 'layer 1, scaled');
  expectAt(
    last,
    scene.pointer.x * s,
    oy + scene.pointer.y * s,
    scene.cursor.color,
    'the cursor, scaled, at the pointer',
  );
});
