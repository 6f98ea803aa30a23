/**
 * The service makes every recording whole on S3 too:
 * a WebM recording finalized without its client (a beacon when the tab
 * closed, the sweeper after the abandon window) is cut after its last complete
 * block and gets a Duration before it is ready, on the finished object,
 * without reading it whole (recordings/repair-object.ts); one its client
 * completed is joined byte for byte. Against the loopback S3 server, with the
 * recording's last bytes in tail objects as the SDK leaves them.
 *
 * The bytes are a real Chromium recording (packages/recorder/test/fixtures),
 * cut inside a block as a closed tab leaves it; ffmpeg and ffprobe judge the
 * download.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebmScanner, setWebmDuration } from '@sortie/webm';
import type { TailTargets } from '@sortie/contract';
import { createStorage } from '../src/storage/index.js';
import { fakeClock, postTail, testApp, type TestApp } from './helpers.js';
import { s3Env, sharedS3Server } from './s3-server.js';

const MiB = 1024 * 1024;
const fixturePath = new URL('../../../packages/recorder/test/fixtures/chromium-vp9.webm', import.meta.url);
/** Where the fixture's one Cluster starts (its head: EBML header, Segment, Info, Tracks). */
const CLUSTER_AT = 143;

let t: TestApp;
const clock = fakeClock();
/** Bytes the service read of finished objects (ranges asked for), per key. */
const readBytes = new Map<string, number>();
let dir: string;
let fixture: Buffer;

beforeAll(async () => {
  fixture = await readFile(fixturePath);
  expect(fixture.readUInt32BE(CLUSTER_AT)).toBe(0x1f43b675);
  const s3 = await sharedS3Server();
  t = await testApp({
    clock,
    env: s3Env(s3, `repair-${randomUUID()}/`),
    makeStorage: async (config, signingKey) => {
      const storage = await createStorage(config, { signingKey });
      const read = storage.read.bind(storage);
      storage.read = async (key, range) => {
        const n = range ? range.end - range.start + 1 : Infinity;
        readBytes.set(key, (readBytes.get(key) ?? 0) + n);
        return read(key, range);
      };
      return storage;
    },
  });
  dir = await mkdtemp(path.join(tmpdir(), 'sortie-s3-repair-'));
});
afterAll(async () => {
  t?.service.jobs.sweeper.stopPending();
  await t?.close();
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

async function create(): Promise<Rec> {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'repair-s3', mimeType: 'video/webm' }, t.auth.user);
  expect(r.status).toBe(201);
  return (await r.json()) as Rec;
}

async function get(id: string): Promise<Rec> {
  return (await (await t.json('GET', `/api/recordings/${id}`, undefined, t.auth.user)).json()) as Rec;
}

async function sendPart(id: string, partNumber: number, bytes: Buffer): Promise<string> {
  const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
  expect(r.status).toBe(200);
  const put = await fetch(((await r.json()) as { url: string }).url, { method: 'PUT', body: bytes });
  expect(put.status).toBe(200);
  return put.headers.get('etag')!;
}

/** Sends `bytes` as the SDK would on S3: full 5 MiB parts, the rest in `tailCount` tail objects. */
async function sendAsSdk(id: string, bytes: Buffer, tailCount: number): Promise<void> {
  let at = 0;
  let n = 1;
  for (; bytes.length - at >= 5 * MiB + tailCount; n++, at += 5 * MiB)
    await sendPart(id, n, bytes.subarray(at, at + 5 * MiB));
  const r = await t.json('POST', `/api/recordings/${id}/tails`, { partNumber: n, firstSeq: 0 }, t.auth.user);
  const { urls } = (await r.json()) as TailTargets;
  const step = Math.ceil((bytes.length - at) / tailCount);
  for (let seq = 0; at < bytes.length; seq++, at += step) {
    const target = urls.find((u) => u.partNumber === n && u.seq === seq)!;
    expect((await postTail(target, bytes.subarray(at, at + step))).status).toBe(204);
  }
}

async function endByBeacon(rec: Rec): Promise<Rec> {
  expect((await t.send(new URL(rec.endUrl).pathname, { method: 'POST', body: 'end' })).status).toBe(202);
  clock.advance(5_000);
  await t.service.jobs.sweeper.run();
  return get(rec.id);
}

async function downloaded(id: string): Promise<Buffer> {
  const dl = await t.json('GET', `/api/recordings/${id}/download`, undefined, t.auth.user);
  expect(dl.status).toBe(302);
  return Buffer.from(await (await fetch(dl.headers.get('location')!)).arrayBuffer());
}

/** ffmpeg's complaints decoding the file (nothing for a clean file) and ffprobe's duration. */
async function judge(bytes: Buffer): Promise<{ errors: string; duration: number }> {
  const file = path.join(dir, `${randomUUID()}.webm`);
  await writeFile(file, bytes);
  const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return { errors: `${dec.stdout}${dec.stderr}`, duration: Number(probe.stdout.toString().trim()) };
}

function scan(bytes: Buffer) {
  const s = new WebmScanner();
  s.push(bytes);
  return s.result;
}

/** An empty Cluster holding a Void of `size` bytes: many MiB of valid WebM before the fixture's own Cluster. */
function paddingCluster(size: number): Buffer {
  const voidHeader = Buffer.from([0xec, 0x01, 0, 0, 0, 0, 0, 0, 0]);
  voidHeader.writeUIntBE(size, 3, 6);
  return Buffer.concat([
    Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0x00]),
    voidHeader,
    Buffer.alloc(size),
  ]);
}

describe('the repair of a WebM recording finalized without its client (S3)', () => {
  it('a small recording ended by a beacon: cut after its last complete block, Duration written, decodes cleanly', async () => {
    const cut = fixture.subarray(0, 10_500);
    const s = scan(cut);
    expect(s.cutAt).toBeLessThan(cut.length);
    const rec = await create();
    await sendAsSdk(rec.id, cut, 3);
    const ready = await endByBeacon(rec);
    const expected = Buffer.from(setWebmDuration(cut.subarray(0, s.cutAt!), s.durationMs!)!);
    expect(ready).toMatchObject({ status: 'ready', endedBy: 'beacon', sizeBytes: expected.length });
    expect(ready.durationMs).toBe(Math.round(s.durationMs!));
    const got = await downloaded(rec.id);
    expect(got.equals(expected)).toBe(true);
    const j = await judge(got);
    expect(j.errors).toBe('');
    expect(Math.abs(j.duration * 1000 - ready.durationMs!)).toBeLessThan(500);
  });

  it('a recording of several parts: only its head and last Cluster are read; the rest is copied inside S3', async () => {
    const big = Buffer.concat([
      fixture.subarray(0, CLUSTER_AT),
      paddingCluster(18 * MiB),
      fixture.subarray(CLUSTER_AT, 10_500),
    ]);
    const s = scan(big);
    expect(s.ok).toBe(true);
    const rec = await create();
    await sendAsSdk(rec.id, big, 4);
    const ready = await endByBeacon(rec);
    const expected = Buffer.from(setWebmDuration(big.subarray(0, s.cutAt!), s.durationMs!)!);
    expect(ready).toMatchObject({ status: 'ready', endedBy: 'beacon', sizeBytes: expected.length });
    const key = (await t.service.recordings.rowById(rec.id))!.storageKey;
    const read = readBytes.get(key)!;
    console.info(`S3 repair of a ${big.length}-byte object read ${read} bytes of it`);
    expect(read).toBeLessThan(big.length / 2);
    const got = await downloaded(rec.id);
    expect(got.equals(expected)).toBe(true);
    expect((await judge(got)).errors).toBe('');
  });

  it('an abandoned recording is repaired the same way', async () => {
    const cut = fixture.subarray(0, 12_000);
    const s = scan(cut);
    const rec = await create();
    await sendAsSdk(rec.id, cut, 2);
    clock.advance(31 * 60_000);
    await t.service.jobs.sweeper.run();
    const ready = await get(rec.id);
    expect(ready).toMatchObject({ status: 'ready', endedBy: 'abandoned', durationMs: Math.round(s.durationMs!) });
    expect(
      (await downloaded(rec.id)).equals(Buffer.from(setWebmDuration(cut.subarray(0, s.cutAt!), s.durationMs!)!)),
    ).toBe(true);
  });

  it('a normal stop: the service writes the Duration the SDK left to it, as the SDK would have', async () => {
    const config = await t.json('GET', '/api/recordings/config', undefined, t.auth.user);
    expect(await config.json()).toMatchObject({ backend: 's3', writesDuration: true });
    // Over 5 MiB, as a recording whose part 1 went up during capture: its head has no Duration.
    const big = Buffer.concat([fixture.subarray(0, CLUSTER_AT), paddingCluster(6 * MiB), fixture.subarray(CLUSTER_AT)]);
    const rec = await create();
    const parts = [
      { partNumber: 1, etag: await sendPart(rec.id, 1, big.subarray(0, 5 * MiB)) },
      { partNumber: 2, etag: await sendPart(rec.id, 2, big.subarray(5 * MiB)) },
    ];
    const done = await t.json('POST', `/api/recordings/${rec.id}/complete`, { durationMs: 2001, parts }, t.auth.user);
    expect(done.status).toBe(200);
    // What the SDK does to part 1 (take.ts sealFirstPart): its first 64 KiB patched, the rest as it was.
    const head = setWebmDuration(big.subarray(0, 64 * 1024), 2001)!;
    const expected = Buffer.concat([head, big.subarray(64 * 1024)]);
    expect(await done.json()).toMatchObject({ durationMs: 2001, endedBy: 'stop', sizeBytes: expected.length });
    const got = await downloaded(rec.id);
    expect(got.equals(expected)).toBe(true);
    expect((await judge(got)).errors).toBe('');
  });

  it('a normal stop whose head has its Duration already (an SDK that sent part 1 again) is joined byte for byte', async () => {
    const sealed = Buffer.from(setWebmDuration(fixture, 2001)!);
    const rec = await create();
    const etag = await sendPart(rec.id, 1, sealed);
    const done = await t.json(
      'POST',
      `/api/recordings/${rec.id}/complete`,
      { durationMs: 1234, parts: [{ partNumber: 1, etag }] },
      t.auth.user,
    );
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ durationMs: 1234, endedBy: 'stop', sizeBytes: sealed.length });
    expect((await downloaded(rec.id)).equals(sealed)).toBe(true);
  });

  it('bytes that are not WebM are finalized as they are', async () => {
    const junk = Buffer.from('not a webm file at all, just bytes'.repeat(100));
    const rec = await create();
    await sendAsSdk(rec.id, junk, 2);
    const ready = await endByBeacon(rec);
    expect(ready).toMatchObject({ status: 'ready', sizeBytes: junk.length, durationMs: null });
    expect((await downloaded(rec.id)).equals(junk)).toBe(true);
  });
});
