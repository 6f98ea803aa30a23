/**
 * The service makes every recording whole: a WebM
 * recording finalized without its client (the sweeper after the abandon
 * window, or a beacon when the tab closed) is cut after its last complete
 * block and gets a Duration before it is ready; one its client completed is
 * joined byte for byte. Local backend only (its parts pass through the
 * service; S3 is joined as it is): vitest.config.ts keeps it out of the S3 run.
 *
 * The bytes are a real Chromium recording (packages/recorder/test/fixtures),
 * cut inside a block as a closed tab leaves it; ffmpeg and ffprobe judge the
 * download.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebmScanner, setWebmDuration } from '@sortie/webm';
import { download, uploadPart } from './admin-fixtures.js';
import { fakeClock, testApp, type TestApp } from './helpers.js';

const fixturePath = new URL('../../../packages/recorder/test/fixtures/chromium-vp9.webm', import.meta.url);
let fixture: Buffer;
/** The recording as a closed tab leaves it: cut inside a block, about 1.5 s in. */
let cut: Buffer;
/** Where the scanner says the last complete block ends in `cut`, and the duration of what is kept. */
let cutAt: number;
let keptMs: number;
let dir: string;

beforeAll(async () => {
  fixture = await readFile(fixturePath);
  cut = fixture.subarray(0, 10_500);
  const s = new WebmScanner();
  s.push(cut);
  cutAt = s.result.cutAt!;
  keptMs = s.result.durationMs!;
  // The fixture is what this test expects: a cut inside a block, well after the head.
  expect(cutAt).toBeGreaterThan(5000);
  expect(cutAt).toBeLessThan(cut.length);
  dir = await mkdtemp(path.join(tmpdir(), 'sortie-repair-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Rec {
  id: string;
  status: string;
  sizeBytes: number;
  durationMs: number | null;
  endedBy: string | null;
  endUrl: string;
}

async function create(t: TestApp): Promise<Rec> {
  const r = await t.json(
    'POST',
    '/api/recordings',
    { sessionId: 'repair', mimeType: 'video/webm;codecs=vp9' },
    t.auth.user,
  );
  expect(r.status).toBe(201);
  return (await r.json()) as Rec;
}

/** Uploads `bytes` split at `splits` (part 1 from 0, …); returns the part list. */
async function upload(
  t: TestApp,
  id: string,
  bytes: Buffer,
  splits: number[],
): Promise<{ partNumber: number; etag: string }[]> {
  const edges = [0, ...splits, bytes.length];
  const parts = [];
  for (let i = 0; i + 1 < edges.length; i++)
    parts.push({ partNumber: i + 1, etag: await uploadPart(t, id, i + 1, bytes.subarray(edges[i], edges[i + 1])) });
  return parts;
}

async function get(t: TestApp, id: string): Promise<Rec> {
  return (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as Rec;
}

async function downloaded(t: TestApp, id: string): Promise<Buffer> {
  const res = await download(t, id, t.auth.user);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** ffprobe's duration of the file (ms), or NaN for "N/A"; and what `ffmpeg -v error … -f null -` prints. */
async function judge(bytes: Buffer): Promise<{ probedMs: number; decodeErrors: string }> {
  const file = path.join(dir, `${randomBytes(6).toString('hex')}.webm`);
  await writeFile(file, bytes);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return {
    probedMs: Number(probe.stdout.trim()) * 1000,
    decodeErrors: `${dec.stdout}${dec.stderr}`.trim() + (dec.status === 0 ? '' : ` (exit ${dec.status})`),
  };
}

/** The checks that a recording is whole: a duration ffprobe reads, close to the row's; a clean decode. */
async function expectWhole(t: TestApp, id: string, endedBy: string): Promise<Buffer> {
  const rec = await get(t, id);
  expect(rec).toMatchObject({ status: 'ready', endedBy });
  expect(rec.durationMs).toBe(keptMs);
  const bytes = await downloaded(t, id);
  expect(rec.sizeBytes).toBe(bytes.length);
  const { probedMs, decodeErrors } = await judge(bytes);
  expect(Number.isNaN(probedMs), 'ffprobe reports a duration, not N/A').toBe(false);
  expect(Math.abs(probedMs - rec.durationMs!)).toBeLessThan(500);
  expect(decodeErrors).toBe('');
  // Exactly the complete blocks, with the Duration written into Info (what the SDK does at stop).
  expect(bytes.equals(Buffer.from(setWebmDuration(cut.subarray(0, cutAt), keptMs)!))).toBe(true);
  return bytes;
}

describe('a recording abandoned mid-block, finalized by the sweeper', () => {
  const clock = fakeClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the upload as the tab left it does not decode cleanly and has no duration (the case repaired)', async () => {
    const { probedMs, decodeErrors } = await judge(cut);
    expect(Number.isNaN(probedMs)).toBe(true);
    expect(decodeErrors).not.toBe('');
  });

  it('is cut after its last complete block, gets a Duration, and durationMs is set (3 parts, the cut in part 3)', async () => {
    const rec = await create(t);
    await upload(t, rec.id, cut, [1500, 7000]);
    clock.advance((t.config.abandonedAfterMinutes + 1) * 60_000);
    expect(await t.service.jobs.sweeper.run()).toMatchObject({ finalized: 1, failed: 0 });
    await expectWhole(t, rec.id, 'abandoned');
    expect(t.logger.lines.some((l) => l.msg === 'recording repaired' && l.recordingId === rec.id)).toBe(true);
  });

  it('a recording that is not WebM inside is finalized as it is, with a warning', async () => {
    const rec = await create(t);
    const junk = randomBytes(5000);
    await upload(t, rec.id, junk, [2000]);
    clock.advance((t.config.abandonedAfterMinutes + 1) * 60_000);
    expect(await t.service.jobs.sweeper.run()).toMatchObject({ finalized: 1, failed: 0 });
    expect(await get(t, rec.id)).toMatchObject({ status: 'ready', durationMs: null, sizeBytes: junk.length });
    expect((await downloaded(t, rec.id)).equals(junk)).toBe(true);
    expect(
      t.logger.lines.some(
        (l) => l.level === 'warn' && l.recordingId === rec.id && String(l.msg).startsWith('recording not repaired'),
      ),
    ).toBe(true);
  });
});

describe('a recording ended by a beacon, and one completed by its client', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(async () => {
    t?.service.jobs.sweeper.stopPending();
    await t?.close();
  });

  async function waitReady(id: string): Promise<void> {
    const until = Date.now() + 30_000;
    while ((await get(t, id)).status !== 'ready') {
      if (Date.now() > until) throw new Error(`recording ${id} is not ready after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('a beacon: the part holding only a cut-off block is dropped, part 1 gets the Duration', async () => {
    const rec = await create(t);
    // Part 3 starts exactly where the last complete block ends: it holds nothing whole.
    await upload(t, rec.id, cut, [4000, cutAt]);
    const r = await t.send(new URL(rec.endUrl).pathname, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: 'end',
    });
    expect(r.status).toBe(202);
    await waitReady(rec.id);
    await expectWhole(t, rec.id, 'beacon');
  });

  it('a beacon on a recording whose head holds a placeholder Duration (1 ms): the real one is written', async () => {
    // Chromium started without a timeslice writes 1 ms into the head and never rewrites it.
    const whole = cut.subarray(0, cutAt);
    const placeholder = Buffer.from(setWebmDuration(whole, 1)!);
    const rec = await create(t);
    await upload(t, rec.id, placeholder, []);
    expect((await t.send(new URL(rec.endUrl).pathname, { method: 'POST', body: 'end' })).status).toBe(202);
    await waitReady(rec.id);
    const bytes = await downloaded(t, rec.id);
    expect(bytes.equals(Buffer.from(setWebmDuration(placeholder, keptMs)!))).toBe(true);
    const { probedMs } = await judge(bytes);
    expect(Math.abs(probedMs - keptMs)).toBeLessThan(500);
  });

  it('a beacon on a single part: cut and Duration in the one part', async () => {
    const rec = await create(t);
    await upload(t, rec.id, cut, []);
    expect((await t.send(new URL(rec.endUrl).pathname, { method: 'POST', body: 'end' })).status).toBe(202);
    await waitReady(rec.id);
    await expectWhole(t, rec.id, 'beacon');
  });

  it('completed by its client (endedBy stop): byte-identical to what was uploaded, no repair', async () => {
    const rec = await create(t);
    const parts = await upload(t, rec.id, cut, [1500, 7000]);
    const done = await t.json('POST', `/api/recordings/${rec.id}/complete`, { durationMs: 1234, parts }, t.auth.user);
    expect(done.status).toBe(200);
    expect(await get(t, rec.id)).toMatchObject({
      status: 'ready',
      endedBy: 'stop',
      durationMs: 1234,
      sizeBytes: cut.length,
    });
    expect((await downloaded(t, rec.id)).equals(cut)).toBe(true);
  });
});
