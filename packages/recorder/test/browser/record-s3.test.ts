/**
 * On S3, a recording stopped normally is unchanged by
 * the tail objects the SDK sends meanwhile (docs/bounded-loss.md): the stored
 * file is byte for byte the recorded chunks with the SDK's Duration written
 * in, no tail object is left in the bucket, and the requests of the recording
 * are counted (printed). Two sizes: one part (sealed before its only upload),
 * and over 5 MiB (the service writes the Duration into the head at complete,
 * as the SDK would have: part 1 is not sent again). Real Chromium
 * against the service on the loopback S3 server (s3-harness.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebmDuration } from '@sortie/webm';
import { download, mintToken, runRecording, USER } from './harness.js';
import { launchBrowser, openTestPage, type TestBrowser, type TestPage } from './driver.js';
import type { RunOptions, RunResult } from './page-entry.js';
import { startBackend } from './s3-harness.js';

let svc: Awaited<ReturnType<typeof startBackend>>;
let browser: TestBrowser;
let page: TestPage;
/** Every request the page made: "METHOD kind". */
let requests: string[] = [];
/** The part numbers the page asked URLs for, in the order asked (read from the bodies, which may come later). */
let partsAsked: Promise<number>[] = [];

beforeAll(async () => {
  svc = await startBackend('s3');
  browser = await launchBrowser();
  page = await openTestPage(browser, svc.baseUrl);
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
  page.onRequest((r) => {
    const path = new URL(r.url).pathname;
    if (r.method === 'OPTIONS' || path.startsWith('/__test__')) return;
    if (path.endsWith('/parts'))
      partsAsked.push(r.postData().then((body) => (JSON.parse(body ?? '{}') as { partNumber: number }).partNumber));
    // A tail is a form upload to the bucket itself (a presigned POST).
    const tail = r.method === 'POST' && path === `/${svc.s3!.bucket}`;
    requests.push(
      `${r.method} ${(tail ? `${path} (tail)` : path)
        .replace(/\/[0-9a-f-]{36}\.webm$/, '/:id.webm (part)')
        .replace(/[0-9a-f-]{36}/, ':id')}`,
    );
  });
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

const MiB = 1024 * 1024;
const CASES: { name: string; opts: Omit<RunOptions, 'sessionId'> }[] = [
  { name: 'one part', opts: { seconds: 6, recorder: { timesliceMs: 500 } } },
  {
    // Long enough to pass 5 MiB (more than one part) even when a loaded machine encodes far below 8 Mbit/s.
    name: 'up to 8 Mbit/s for 30 s',
    opts: {
      seconds: 30,
      width: 960,
      height: 540,
      noise: 0.5,
      recorder: { timesliceMs: 500, videoBitsPerSecond: 8_000_000, frameRate: 30 },
    },
  },
];

describe.each(CASES)('a recording stopped normally on S3 ($name)', ({ name, opts }) => {
  let result: RunResult;
  let stored: Buffer;
  let seen: string[];
  let asked: number[];

  beforeAll(async () => {
    requests = [];
    partsAsked = [];
    result = await runRecording(page, { sessionId: `sess-s3-${name}`, ...opts });
    seen = requests;
    asked = await Promise.all(partsAsked);
    if (result.recording) stored = await download(svc.baseUrl, result.recording.id);
  }, 120_000);

  it('ends ready without errors', () => {
    expect(result.failure).toBeNull();
    expect(result.errors).toEqual([]);
    expect(result.recording?.status).toBe('ready');
    expect(result.recording?.endedBy).toBe('stop');
  });

  it('is byte for byte the recorded chunks with the Duration written into part 1', () => {
    const recorded = new Uint8Array(Buffer.from(result.chunks, 'base64'));
    const expected = setWebmDuration(recorded, result.recording!.durationMs!)!;
    expect(stored.length).toBe(expected.length);
    expect(stored.equals(Buffer.from(expected))).toBe(true);
  });

  it('sent tails while recording, left none in the bucket, and counts its requests', async () => {
    const counts = new Map<string, number>();
    for (const r of seen) counts.set(r, (counts.get(r) ?? 0) + 1);
    console.info(
      `S3, ${name}, ${opts.seconds} s, ${stored.length} bytes: ${seen.length} requests\n` +
        [...counts].map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`).join('\n'),
    );
    expect([...counts.keys()].some((k) => k.endsWith('(tail)'))).toBe(true);
    // Each part once: one part is sealed before its only upload; past 5 MiB the service writes the Duration
    // into the head itself (RecordingConfig.writesDuration), so part 1 is not sent again.
    console.info(`  part URLs asked for: ${asked.join(', ')}`);
    expect(asked).toEqual(asked.map((_, i) => i + 1));
    if (stored.length > 5 * MiB) expect(asked.length).toBeGreaterThan(1);
    expect(await svc.service.storage.tails!.listTails(result.recording!.id)).toEqual([]);
  });
});
