/**
 * The free-space reserve (SORTIE_RECORDING_MIN_FREE_MB) on the local backend, held exactly:
 * a burst of parts at once never takes the disk below it, a thumbnail at it is refused
 * with 507, and /readyz answers 503 as soon as the disk is below it.
 *
 * The disk is a SizedDisk: a LocalStorage whose disk has a fixed capacity, its free space
 * that capacity less the bytes of the files under the storage folder, counted afresh at
 * every reading (a walk of the folder, as slow as a real statfs is fast: readings overlap
 * the writes of a burst all the more).
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStorage, type LocalStorageOptions } from '../src/storage/local.js';
import { createRecording } from './admin-fixtures.js';
import { testApp, type TestApp } from './helpers.js';

/** Bytes of the files under `dir`, each file once (the finished recordings hard-link their parts). */
export async function bytesUnder(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names) {
      const p = path.join(d, name);
      const s = await lstat(p).catch(() => null);
      if (!s) continue;
      if (s.isDirectory()) await walk(p);
      else if (s.isFile() && !seen.has(s.ino)) {
        seen.add(s.ino);
        total += s.size;
      }
    }
  };
  await walk(dir);
  return total;
}

class SizedDisk extends LocalStorage {
  constructor(
    opts: LocalStorageOptions,
    readonly capacity: number,
  ) {
    super(opts);
  }
  protected override async diskFree(): Promise<number> {
    return this.capacity - (await bytesUnder(this.root));
  }
  get dir(): string {
    return this.root;
  }
}

const MiB = 1024 * 1024;
/** SORTIE_RECORDING_MIN_FREE_MB of every test here. */
const RESERVE = 4 * MiB;

let t: TestApp | undefined;
let disk: SizedDisk;
afterEach(async () => {
  vi.useRealTimers();
  await t?.close();
  t = undefined;
});

/** An app on a SizedDisk with `room` bytes above the reserve. */
async function start(room: number): Promise<TestApp> {
  t = await testApp({
    // Every part of a burst is let in at once (the per-user limit of bodies at once would answer some 429 first,
    // depending on how they overlap), so the reserve alone decides.
    env: { SORTIE_RECORDING_MIN_FREE_MB: String(RESERVE / MiB), SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER: '32' },
    makeStorage: async (config, signingKey) => {
      disk = new SizedDisk({ root: config.storagePath, signingKey, minFreeBytes: config.minFreeBytes }, RESERVE + room);
      await disk.init();
      return disk;
    },
  });
  return t;
}

const free = async () => disk.capacity - (await bytesUnder(disk.dir));

/** A part through POST /parts and its PUT, or through the parts URL in one PUT: the status of the last answer. */
async function sendPart(t: TestApp, id: string, n: number, bytes: Buffer, partsUrl: string | null): Promise<number> {
  if (partsUrl) {
    const r = await t.send(`${partsUrl}/${n}`, {
      method: 'PUT',
      headers: { 'content-length': String(bytes.length) },
      body: bytes,
    });
    await r.arrayBuffer();
    return r.status;
  }
  const r = await t.json(
    'POST',
    `/api/recordings/${id}/parts`,
    { partNumber: n, sizeBytes: bytes.length },
    t.auth.user,
  );
  if (r.status !== 200) return r.status;
  const { url, headers } = (await r.json()) as { url: string; headers: Record<string, string> };
  const put = await t.send(url, { method: 'PUT', headers, body: bytes });
  await put.arrayBuffer();
  return put.status;
}

describe('the free-space reserve', () => {
  it.each([
    ['POST /parts, then the PUT', false],
    ['the parts URL, one PUT a part', true],
  ])('holds under a burst of parts at once (%s): the disk never goes below it', async (_name, viaPartsUrl) => {
    const part = 200_000;
    const room = 5 * part + 50_000;
    const t = await start(room);
    const made = await t.json(
      'POST',
      '/api/recordings',
      { sessionId: 's', mimeType: 'video/webm;codecs=vp9' },
      t.auth.user,
    );
    const { id, partsUrl } = (await made.json()) as { id: string; partsUrl: { url: string } | null };
    expect(partsUrl).not.toBeNull();
    // The lowest free space seen while the burst runs, read the way the disk counts it.
    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) lowest = Math.min(lowest, await free());
    })();
    const statuses = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        sendPart(t, id, i + 1, randomBytes(part), viaPartsUrl ? partsUrl!.url : null),
      ),
    );
    sampling = false;
    await sampler;
    lowest = Math.min(lowest, await free());
    const stored = statuses.filter((s) => s === 200).length;
    // Five fit above the reserve; the rest are refused as the disk's answer, not an error.
    expect(
      statuses.every((s) => s === 200 || s === 507),
      String(statuses),
    ).toBe(true);
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThanOrEqual(5);
    expect(lowest).toBeGreaterThanOrEqual(RESERVE);
  });

  it('refuses a thumbnail that would take the disk below it with 507 and Retry-After, and stores nothing', async () => {
    const t = await start(10_000);
    const { id } = await createRecording(t);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(30_000)]);
    const before = await bytesUnder(disk.dir);
    const r = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(r.status).toBe(507);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await r.json()).toMatchObject({ error: { code: 'insufficient_storage' } });
    expect(await bytesUnder(disk.dir)).toBe(before);
    const idx = await t.json('GET', `/api/recordings/${id}/thumbnails`, undefined, t.auth.user);
    expect(((await idx.json()) as { items: unknown[] }).items).toEqual([]);
    // A thumbnail that fits is taken.
    const small = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
      body: jpeg.subarray(0, 5000),
    });
    expect(small.status).toBe(204);
  });

  it('/readyz answers 503 as soon as the disk is below it, and 200 once it is above again', async () => {
    const t = await start(100_000);
    expect((await t.app.request('/readyz')).status).toBe(200);
    // Nothing here reads the wall clock to decide: frozen, a cached figure would never expire.
    vi.useFakeTimers({ toFake: ['Date'] });
    // Something else fills the disk.
    const filler = path.join(disk.dir, 'filler');
    await writeFile(filler, randomBytes(150_000));
    const low = await t.app.request('/readyz');
    expect(low.status).toBe(503);
    expect(await low.json()).toMatchObject({ status: 'not_ready', checks: { storage: 'unavailable' } });
    await rm(filler);
    expect((await t.app.request('/readyz')).status).toBe(200);
  });
});
