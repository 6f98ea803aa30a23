/**
 * The thumbnails entry point in real Chromium against the real
 * service, for each kind of source — a canvas (drawn directly), a MediaStream
 * (through a hidden <video>), an element (from the compositor's capture
 * canvas). Each source is one solid colour; the stored JPEGs are decoded with
 * ffmpeg and must be 160×90 pictures of that colour, taken about every
 * interval from the start of the recording.
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, mintToken, openPage, startService, USER, type TestService } from './harness.js';
import type { SourceKind } from './thumbnails-entry.js';

let svc: TestService;
let browser: Browser;

beforeAll(async () => {
  svc = await startService();
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

const auth = () => ({ Authorization: `Bearer ${mintToken(USER, 600)}` });

/** The JPEG's size and its centre pixel, decoded by ffmpeg. */
function decode(jpeg: Buffer): { width: number; height: number; centre: number[] } {
  const probe = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'json', '-i', 'pipe:0'], {
      input: jpeg,
      encoding: 'utf8',
    }),
  ) as { streams: { width: number; height: number }[] };
  const { width, height } = probe.streams[0]!;
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    input: jpeg,
  });
  const i = (Math.floor(height / 2) * width + Math.floor(width / 2)) * 3;
  return { width, height, centre: [raw[i]!, raw[i + 1]!, raw[i + 2]!] };
}

const COLOUR: Record<SourceKind, number[]> = { canvas: [220, 30, 30], stream: [30, 200, 40], element: [40, 60, 220] };

describe.each(['canvas', 'stream', 'element'] as const)('thumbnails of a %s source', (kind) => {
  it('are 160×90 JPEGs of what is recorded, from its start and about every interval', async () => {
    const page: Page = await openPage(browser, svc.baseUrl, './thumbnails-entry.ts');
    await page.exposeFunction('testToken', () => mintToken(USER, 600));
    const { id } = await page.evaluate(
      ([k, c]) =>
        (
          window as unknown as {
            recordWithThumbnails(k: string, c: number[], ms: number, every: number): Promise<{ id: string }>;
          }
        ).recordWithThumbnails(k, c, 3500, 1000),
      [kind, COLOUR[kind]] as const,
    );
    await page.close();
    const index = (await (
      await fetch(`${svc.baseUrl}/api/recordings/${id}/thumbnails`, { headers: auth() })
    ).json()) as {
      items: { offsetMs: number; url: string }[];
    };
    const offsets = index.items.map((i) => i.offsetMs);
    // The poster, then one a second: 3 or 4 in 3.5 s. The poster is the recording's first frame, at offset 0,
    // taken as capture begins; a stream's, if its hidden <video> had no frame yet then, is its first frame.
    expect(offsets.length, offsets.join(', ')).toBeGreaterThanOrEqual(3);
    if (kind === 'stream') expect(offsets[0]).toBeLessThan(offsets[1]!);
    else expect(offsets[0]).toBe(0);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]! - offsets[i - 1]!).toBeGreaterThan(300);
    const rec = (await (await fetch(`${svc.baseUrl}/api/recordings/${id}`, { headers: auth() })).json()) as {
      posterOffsetMs: number;
    };
    expect(rec.posterOffsetMs).toBe(offsets[0]);
    for (const item of index.items) {
      const jpeg = Buffer.from(await (await fetch(item.url)).arrayBuffer());
      const { width, height, centre } = decode(jpeg);
      expect([width, height]).toEqual([160, 90]);
      centre.forEach((v, c) =>
        expect(Math.abs(v - COLOUR[kind][c]!), `${item.offsetMs} ms: ${centre}`).toBeLessThan(40),
      );
    }
  });
});
