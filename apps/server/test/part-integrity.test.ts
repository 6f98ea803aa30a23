/**
 * The local part path under abuse: parts sent again and again,
 * asked for again at other sizes, PUT in parallel, a full disk, bodies that
 * stall, too many bodies at once. Each case states what is stored afterwards,
 * on disk and in the database, and that the recording can still be completed
 * (or finalized by the sweeper) with exactly the bytes its part list names.
 * Runs over a real listening socket where the connection matters.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordingParts } from '../src/db/schema.js';
import { signToken } from '../src/lib/signed-token.js';
import { RecordingsService } from '../src/recordings/service.js';
import { LocalStorage } from '../src/storage/local.js';
import { fakeClock, testApp, type TestApp, type TestAppOptions } from './helpers.js';

const MiB = 1024 * 1024;

/** The app of the test running now. */
let t: TestApp | undefined;

/** An app on a real socket. */
interface Running {
  t: TestApp;
  server: ServerType;
  base: string;
}

async function listen(opts: TestAppOptions): Promise<Running> {
  const app = await testApp(opts);
  let server!: ServerType;
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  return { t: app, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(r: Running): Promise<void> {
  await new Promise<void>((done) => r.server.close(() => done()));
  await r.t.close();
}

/** Tests with a configuration of their own get an app of their own, closed after the test. */
let own: Running | undefined;
afterEach(async () => {
  if (own) await stop(own);
  own = undefined;
});

async function start(opts: TestAppOptions = {}): Promise<string> {
  own = await listen(opts);
  t = own.t;
  return own.base;
}

/**
 * The tests on the default configuration share one app (each makes its own
 * recordings): a database per test would cost seconds each. Its disk can be
 * made full (FullDisk below).
 */
let shared: Running;
let sharedDisk!: FullDisk;
let sharedSigningKey = '';
beforeAll(async () => {
  shared = await listen({
    makeStorage: async (config, signingKey) => {
      sharedSigningKey = signingKey;
      sharedDisk = new FullDisk({ root: config.storagePath, signingKey });
      await sharedDisk.init();
      return sharedDisk;
    },
  });
});
afterAll(async () => {
  if (shared) await stop(shared);
});
function useShared(): string {
  t = shared.t;
  sharedDisk.full = false;
  return shared.base;
}

async function api(base: string, method: string, p: string, body?: unknown, headers = t!.auth.user): Promise<Response> {
  return fetch(base + p, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
}

async function create(base: string, headers = t!.auth.user): Promise<string> {
  const r = await api(
    base,
    'POST',
    '/api/recordings',
    { sessionId: 'integrity', mimeType: 'video/webm;codecs=vp9' },
    headers,
  );
  expect(r.status, await r.clone().text()).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

async function partUrl(base: string, id: string, partNumber: number, sizeBytes: number): Promise<Response> {
  return api(base, 'POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes });
}

async function urlOf(base: string, id: string, partNumber: number, sizeBytes: number): Promise<string> {
  const r = await partUrl(base, id, partNumber, sizeBytes);
  expect(r.status, await r.clone().text()).toBe(200);
  return ((await r.json()) as { url: string }).url.replace(/^https?:\/\/[^/]+/, base);
}

async function put(url: string, bytes: Uint8Array): Promise<Response> {
  return fetch(url, { method: 'PUT', body: bytes });
}

async function complete(base: string, id: string, etags: string[]): Promise<Response> {
  return api(base, 'POST', `/api/recordings/${id}/complete`, {
    durationMs: 1000,
    parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  });
}

async function download(base: string, id: string): Promise<Buffer> {
  const r = await api(base, 'GET', `/api/recordings/${id}/download`);
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

/** The part files (whole versions, not .tmp) of a recording on disk, and their total size. */
async function onDisk(id: string): Promise<{ files: string[]; bytes: number }> {
  const dir = path.join(t!.storagePath, '.parts', `${id}.webm`);
  const files = await readdir(dir).catch(() => [] as string[]);
  let bytes = 0;
  for (const f of files) bytes += (await stat(path.join(dir, f))).size;
  return { files, bytes };
}

async function partRow(id: string, partNumber: number) {
  const rows = await t!.database.db.select().from(recordingParts).where(eq(recordingParts.recordingId, id));
  return rows.find((r) => r.partNumber === partNumber);
}

describe('re-sent parts', () => {
  it('keeps one file per part after 30 re-sends of one part URL, and counts it once', async () => {
    const base = useShared();
    const id = await create(base);
    const url = await urlOf(base, id, 1, MiB);
    let last = '';
    let bytes = Buffer.alloc(0);
    for (let i = 0; i < 30; i++) {
      bytes = randomBytes(MiB);
      const r = await put(url, bytes);
      expect(r.status).toBe(200);
      last = r.headers.get('etag')!;
    }
    const disk = await onDisk(id);
    expect(disk.files).toHaveLength(1);
    expect(disk.bytes).toBe(MiB);
    const rec = (await (await api(base, 'GET', `/api/recordings/${id}`)).json()) as { sizeBytes: number };
    expect(rec.sizeBytes).toBe(MiB);
    expect((await complete(base, id, [last])).status).toBe(200);
    expect((await download(base, id)).equals(bytes)).toBe(true);
  });

  it('keeps a recording within the limit when a part is asked for again smaller, then others grow', async () => {
    const base = await start({ env: { SORTIE_RECORDING_MAX_SIZE_MB: '1' } });
    const id = await create(base);
    // Part 1 at the whole limit, stored.
    expect((await put(await urlOf(base, id, 1, MiB), randomBytes(MiB))).status).toBe(200);
    // Asked for again at 1 byte: its 1 MiB stays stored until the new byte replaces it...
    const small = await urlOf(base, id, 1, 1);
    // ...so there is no room for part 2 yet.
    expect((await partUrl(base, id, 2, MiB - 1)).status).toBe(413);
    // Once the 1-byte version is stored and the old one deleted, there is.
    const r1 = await put(small, Buffer.from('x'));
    expect(r1.status).toBe(200);
    const url2 = await urlOf(base, id, 2, MiB - 1);
    const part2 = randomBytes(MiB - 1);
    const r2 = await put(url2, part2);
    expect(r2.status).toBe(200);
    // Part 1 again at full size no longer fits.
    expect((await partUrl(base, id, 1, MiB)).status).toBe(413);
    expect((await onDisk(id)).bytes).toBeLessThanOrEqual(MiB);
    const done = await complete(base, id, [r1.headers.get('etag')!, r2.headers.get('etag')!]);
    expect(done.status).toBe(200);
    expect(((await done.json()) as { sizeBytes: number }).sizeBytes).toBe(MiB);
  });

  it('refuses a body whose part was asked for again while it arrived, and keeps the newer one', async () => {
    const base = useShared();
    const id = await create(base);
    const oldUrl = await urlOf(base, id, 1, 2000);
    const bytes = randomBytes(2000);
    // The old body starts, then the part is asked for at another size before it ends.
    const req = http.request(oldUrl, { method: 'PUT', headers: { 'content-length': 2000 } });
    const answered = new Promise<number>((resolve) =>
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!))),
    );
    req.write(bytes.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 200));
    const newUrl = await urlOf(base, id, 1, 10);
    req.end(bytes.subarray(1000));
    expect(await answered).toBe(409);
    const fresh = await put(newUrl, randomBytes(10));
    expect(fresh.status).toBe(200);
    expect((await onDisk(id)).files).toHaveLength(1);
    expect((await complete(base, id, [fresh.headers.get('etag')!])).status).toBe(200);
  });
});

describe('part URLs that name the owner and the storage key (no lookup before the bytes)', () => {
  async function partsFolderExists(id: string): Promise<boolean> {
    return stat(path.join(t!.storagePath, '.parts', `${id}.webm`)).then(
      () => true,
      () => false,
    );
  }

  it('a late PUT to a completed or failed recording is 409, and leaves no file and no folder behind', async () => {
    const base = useShared();
    const done = await create(base);
    const first = await put(await urlOf(base, done, 1, 10), randomBytes(10));
    const late = await urlOf(base, done, 2, 10);
    expect((await complete(base, done, [first.headers.get('etag')!])).status).toBe(200);
    expect(await partsFolderExists(done)).toBe(false);
    const afterComplete = await put(late, randomBytes(10));
    expect(afterComplete.status).toBe(409);
    expect(((await afterComplete.json()) as { error: { message: string } }).error.message).toMatch(/ready/);
    expect(await partsFolderExists(done)).toBe(false);
    // The finished recording is the one part it was completed with.
    expect((await download(base, done)).length).toBe(10);

    const failed = await create(base);
    const url = await urlOf(base, failed, 1, 10);
    expect((await api(base, 'POST', `/api/recordings/${failed}/fail`, { reason: 'test' })).status).toBe(200);
    expect((await put(url, randomBytes(10))).status).toBe(409);
    expect(await partsFolderExists(failed)).toBe(false);
  });

  it('a URL issued by an earlier release (no owner, no key in it) still stores its part, and still refuses a closed recording', async () => {
    const base = useShared();
    const id = await create(base);
    await urlOf(base, id, 1, 10); // reserves part 1 at 10 bytes
    const expires = new Date(Date.now() + 60_000);
    const token = await signToken(sharedSigningKey, { typ: 'part', rid: id, pn: 1, size: 10 }, expires);
    const bytes = randomBytes(10);
    const res = await put(`${base}/api/uploads/${token}`, bytes);
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await complete(base, id, [res.headers.get('etag')!])).status).toBe(200);
    expect((await download(base, id)).equals(bytes)).toBe(true);
    // Its recording is ready now: the lookup refuses the old URL before reading the body.
    expect((await put(`${base}/api/uploads/${token}`, randomBytes(10))).status).toBe(409);
  });
});

describe('parallel PUTs of one part', () => {
  it('always leave exactly one stored version, named by the database, that completes (8 at once, 10 trials)', async () => {
    useShared();
    const app = t!;
    // The service with room for 8 bodies of one part at once (the default allows 2), so all 8 race.
    const racing = new RecordingsService({
      db: app.database.db,
      storage: app.storage,
      clock: { now: () => new Date() },
      maxSizeBytes: app.config.maxSizeBytes,
      uploads: {
        maxConcurrent: 64,
        maxConcurrentPerUser: 64,
        maxConcurrentPerPart: 8,
        idleTimeoutMs: 30_000,
        minBytesPerSecond: 0,
      },
    });
    const user = { id: 'u-1', name: 'Ada Lovelace', isAdmin: false, isAuditor: false };
    for (let trial = 0; trial < 10; trial++) {
      const rec = await racing.parts.createRow(user, { sessionId: `race-${trial}`, mimeType: 'video/webm;codecs=vp9' });
      await racing.parts.requestPart(user, rec.id, 1, 64 * 1024, 'http://127.0.0.1');
      const bodies = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
      // Each body arrives in several chunks so that the writes interleave.
      const chunked = (b: Buffer) =>
        Readable.from([b.subarray(0, 20_000), b.subarray(20_000, 40_000), b.subarray(40_000)]);
      const results = await Promise.allSettled(
        bodies.map((b) => racing.parts.acceptPart(rec.id, 1, b.length, chunked(b))),
      );
      const etags = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.etag] : []));
      expect(etags.length).toBe(8);
      const row = await partRow(rec.id, 1);
      expect(etags).toContain(row!.etag);
      const disk = await onDisk(rec.id);
      expect(disk.files).toHaveLength(1);
      expect(disk.files[0]).toContain(row!.etag!.replace(/"/g, ''));
      const ready = await racing.finalizer.complete(user, rec.id, {
        durationMs: null,
        parts: [{ partNumber: 1, etag: row!.etag! }],
      });
      expect(ready.status).toBe('ready');
      const winner = bodies[etags.indexOf(row!.etag!)]!;
      const got = Buffer.concat(
        await (await racing.downloads.open(await racing.getRow(user, rec.id, 'own'))).toArray(),
      );
      expect(got.equals(winner)).toBe(true);
    }
  });

  it('over a real socket: 8 parallel PUTs are each stored or refused (429, Retry-After), and one stored ETag completes', async () => {
    const base = useShared();
    const id = await create(base);
    const url = await urlOf(base, id, 1, 256 * 1024);
    const answers = await Promise.all(Array.from({ length: 8 }, () => put(url, randomBytes(256 * 1024))));
    for (const a of answers) {
      expect([200, 429]).toContain(a.status);
      if (a.status === 429) expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const stored = answers.filter((a) => a.status === 200).map((a) => a.headers.get('etag')!);
    expect(stored.length).toBeGreaterThan(0);
    expect((await onDisk(id)).files).toHaveLength(1);
    const outcomes = [];
    for (const etag of stored) outcomes.push((await complete(base, id, [etag])).status);
    // Exactly the version the database names completes; once ready, a repeated complete answers it again.
    expect(outcomes).toContain(200);
  });
});

describe('complete on the local disk', () => {
  it('copies no byte: the finished recording is the parts’ own files, and ranges read across their boundaries', async () => {
    const base = useShared();
    const id = await create(base);
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(50_000), randomBytes(33_333)];
    const etags: string[] = [];
    for (const [i, b] of parts.entries()) {
      const r = await put(await urlOf(base, id, i + 1, b.length), b);
      expect(r.status).toBe(200);
      etags.push(r.headers.get('etag')!);
    }
    const dir = path.join(t!.storagePath, '.parts', `${id}.webm`);
    const inodes = new Map<number, number>();
    for (const f of await readdir(dir)) inodes.set(Number(f.slice(0, 6)), (await stat(path.join(dir, f))).ino);
    expect((await complete(base, id, etags)).status).toBe(200);
    // The finished folder holds the very same files (hard links), and the parts' folder is gone.
    const finished = path.join(t!.storagePath, `${id}.webm.d`);
    for (let i = 1; i <= parts.length; i++)
      expect((await stat(path.join(finished, String(i).padStart(6, '0')))).ino).toBe(inodes.get(i));
    expect(await readdir(dir).catch(() => 'gone')).toBe('gone');
    const whole = Buffer.concat(parts);
    expect((await download(base, id)).equals(whole)).toBe(true);
    // Ranges that start, end and straddle part boundaries, a one-byte part, and suffixes.
    const ranges: [string, number, number][] = [
      ['bytes=69999-70001', 69_999, 70_001],
      ['bytes=70000-70000', 70_000, 70_000],
      ['bytes=0-120000', 0, 120_000],
      ['bytes=70001-', 70_001, whole.length - 1],
      ['bytes=-40000', whole.length - 40_000, whole.length - 1],
    ];
    for (const [header, from, to] of ranges) {
      const r = await api(base, 'GET', `/api/recordings/${id}/download`, undefined, { ...t!.auth.user, range: header });
      expect(r.status, header).toBe(206);
      expect(Buffer.from(await r.arrayBuffer()).equals(whole.subarray(from, to + 1)), header).toBe(true);
    }
  });
});

describe('the sweeper', () => {
  it('finalizes from the version the database names, whatever else is in the folder (a crash between store and commit)', async () => {
    const clock = fakeClock();
    const base = await start({ clock });
    const id = await create(base);
    const bytes = randomBytes(5000);
    const r = await put(await urlOf(base, id, 1, 5000), bytes);
    expect(r.status).toBe(200);
    // A newer version on disk that no commit names (its PUT died before committing), newer by mtime.
    const dir = path.join(t!.storagePath, '.parts', `${id}.webm`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise<void>((resolve, reject) => {
      const ws = createWriteStream(path.join(dir, `000001.deadbeef-1388-${'0'.repeat(16)}`));
      ws.on('error', reject);
      ws.end(randomBytes(5000), () => resolve());
    });
    clock.advance(31 * 60_000);
    const res = await t!.service.jobs.sweeper.run();
    expect(res).toMatchObject({ finalized: 1, failed: 0 });
    const rec = (await (await api(base, 'GET', `/api/recordings/${id}`)).json()) as {
      status: string;
      sizeBytes: number;
    };
    expect(rec).toMatchObject({ status: 'ready', sizeBytes: 5000 });
    expect((await download(base, id)).equals(bytes)).toBe(true);
  });

  it('keeps the parts before one that storage lost, instead of failing the recording', async () => {
    const clock = fakeClock();
    const base = await start({ clock });
    const id = await create(base);
    const a = randomBytes(3000);
    expect((await put(await urlOf(base, id, 1, 3000), a)).status).toBe(200);
    const r2 = await put(await urlOf(base, id, 2, 3000), randomBytes(3000));
    expect(r2.status).toBe(200);
    // Part 2's file disappears (a disk error, an operator's mistake).
    const dir = path.join(t!.storagePath, '.parts', `${id}.webm`);
    const [lost] = (await readdir(dir)).filter((f) => f.startsWith('000002.'));
    await (await import('node:fs/promises')).unlink(path.join(dir, lost!));
    clock.advance(31 * 60_000);
    expect(await t!.service.jobs.sweeper.run()).toMatchObject({ finalized: 1, failed: 0 });
    expect((await download(base, id)).equals(a)).toBe(true);
  });
});

/** A local backend on a disk that is full: every part file it opens is /dev/full (the kernel answers ENOSPC). */
class FullDisk extends LocalStorage {
  full = false;
  protected override openPartFile(tmp: string) {
    return this.full ? createWriteStream('/dev/full') : super.openPartFile(tmp);
  }
}

describe('a full disk', () => {
  it('answers 507 with Retry-After, keeps the part stored before, and keeps the connection', async () => {
    const base = useShared();
    const disk = sharedDisk;
    const id = await create(base);
    const first = randomBytes(100_000);
    const url = await urlOf(base, id, 1, first.length);
    const ok = await put(url, first);
    expect(ok.status).toBe(200);
    disk.full = true;
    // Two requests on one kept-alive connection: the 507, then another on the same socket.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (u: string, body: Buffer) =>
      new Promise<{ status: number; retryAfter: string | undefined; reused: boolean; text: string }>(
        (resolve, reject) => {
          const req = http.request(u, { method: 'PUT', agent, headers: { 'content-length': body.length } }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                retryAfter: res.headers['retry-after'],
                reused: req.reusedSocket,
                text,
              }),
            );
          });
          req.on('error', reject);
          req.end(body);
        },
      );
    const full = await send(url, randomBytes(100_000));
    expect(full.status).toBe(507);
    expect(Number(full.retryAfter)).toBeGreaterThan(0);
    expect(JSON.parse(full.text)).toMatchObject({ error: { code: 'insufficient_storage' } });
    disk.full = false;
    const again = await send(url, first);
    expect(again.status).toBe(200);
    expect(again.reused).toBe(true);
    agent.destroy();
    // The version stored before the full disk was kept until the retry replaced it; nothing else is left.
    expect((await onDisk(id)).files).toHaveLength(1);
    const etag = (await partRow(id, 1))!.etag!;
    expect((await complete(base, id, [etag])).status).toBe(200);
    expect((await download(base, id)).equals(first)).toBe(true);
  });

  it('keeps the earlier version of a part when its re-send hits a full disk', async () => {
    const base = useShared();
    const disk = sharedDisk;
    const id = await create(base);
    const bytes = randomBytes(4096);
    const url = await urlOf(base, id, 1, 4096);
    const ok = await put(url, bytes);
    disk.full = true;
    expect((await put(url, randomBytes(4096))).status).toBe(507);
    disk.full = false;
    expect((await complete(base, id, [ok.headers.get('etag')!])).status).toBe(200);
    expect((await download(base, id)).equals(bytes)).toBe(true);
  });

  it('is not ready, and refuses new parts with 507, below SORTIE_RECORDING_MIN_FREE_MB', async () => {
    // More free space than any disk has: the service must see itself as full.
    const base = await start({ env: { SORTIE_RECORDING_MIN_FREE_MB: String(1024 * 1024 * 1024) } });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { storage: 'unavailable' } });
    const id = await create(base);
    const r = await partUrl(base, id, 1, 1000);
    expect(r.status).toBe(507);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('slow and concurrent bodies', () => {
  /** Starts a PUT that sends `first` bytes of `size`, then one byte every `everyMs`; resolves with the status or 'closed'. */
  function trickle(url: string, size: number, first: number, everyMs: number) {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': size } });
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<number | 'closed'>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        clearInterval(timer);
        resolve(res.statusCode!);
      });
      req.on('error', () => {
        clearInterval(timer);
        resolve('closed');
      });
    });
    req.write(randomBytes(first));
    if (everyMs > 0) timer = setInterval(() => req.write(Buffer.from('x')), everyMs);
    return { done, stop: () => (clearInterval(timer), req.destroy()) };
  }

  it('ends a body that trickles slower than the minimum rate, and stores nothing of it', async () => {
    const base = await start({
      env: { SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS: '1', SORTIE_UPLOAD_MIN_BYTES_PER_SECOND: '1000' },
    });
    const id = await create(base);
    const url = await urlOf(base, id, 1, 100_000);
    // A byte every 200 ms: never idle for a second, but 5 bytes per second. Left alone it would take hours.
    const slow = trickle(url, 100_000, 10, 200);
    const started = Date.now();
    const status = await slow.done;
    slow.stop();
    expect(status).toBe(408);
    // Ended by the watchdog, not by Node's 300 s request timeout (a loose bound: this is not a speed test).
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await onDisk(id)).files).toEqual([]);
    expect((await partRow(id, 1))!.etag).toBeNull();
  });

  it('ends a body that stops arriving after the idle timeout', async () => {
    const base = await start({ env: { SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS: '1' } });
    const id = await create(base);
    const url = await urlOf(base, id, 1, 100_000);
    const stalled = trickle(url, 100_000, 50_000, 0);
    const status = await stalled.done;
    stalled.stop();
    expect(status).toBe(408);
    expect((await onDisk(id)).files).toEqual([]);
  });

  it('refuses a user’s body over SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER (429), and takes it once one ends', async () => {
    const base = await start({ env: { SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER: '2' } });
    const id = await create(base);
    const urls = [await urlOf(base, id, 1, 10_000), await urlOf(base, id, 2, 10_000), await urlOf(base, id, 3, 10_000)];
    const a = trickle(urls[0]!, 10_000, 100, 0);
    const b = trickle(urls[1]!, 10_000, 100, 0);
    // Both bodies have begun (their first bytes are in) before the third comes.
    await waitFor(() => t!.service.recordings.gate.inFlight === 2);
    const third = await put(urls[2]!, randomBytes(10_000));
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user is not held up by this one.
    const otherId = await create(base, t!.auth.other);
    const r = await api(
      base,
      'POST',
      `/api/recordings/${otherId}/parts`,
      { partNumber: 1, sizeBytes: 10 },
      t!.auth.other,
    );
    const otherUrl = ((await r.json()) as { url: string }).url.replace(/^https?:\/\/[^/]+/, base);
    expect((await put(otherUrl, randomBytes(10))).status).toBe(200);
    a.stop();
    b.stop();
    await waitFor(() => t!.service.recordings.gate.inFlight === 0);
    expect((await put(urls[2]!, randomBytes(10_000))).status).toBe(200);
  });

  it('refuses any body over SORTIE_UPLOAD_MAX_CONCURRENT (503, Retry-After)', async () => {
    const base = await start({ env: { SORTIE_UPLOAD_MAX_CONCURRENT: '1' } });
    const id = await create(base);
    const otherId = await create(base, t!.auth.other);
    const a = trickle(await urlOf(base, id, 1, 10_000), 10_000, 100, 0);
    await waitFor(() => t!.service.recordings.gate.inFlight === 1);
    const r = await api(
      base,
      'POST',
      `/api/recordings/${otherId}/parts`,
      { partNumber: 1, sizeBytes: 10 },
      t!.auth.other,
    );
    const otherUrl = ((await r.json()) as { url: string }).url.replace(/^https?:\/\/[^/]+/, base);
    const refused = await put(otherUrl, randomBytes(10));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    a.stop();
    await waitFor(() => t!.service.recordings.gate.inFlight === 0);
    expect((await put(otherUrl, randomBytes(10))).status).toBe(200);
  });
});

describe('per-user caps', () => {
  it('refuses a recording over SORTIE_RECORDING_MAX_OPEN_PER_USER (429), and takes one once another is complete', async () => {
    const base = await start({ env: { SORTIE_RECORDING_MAX_OPEN_PER_USER: '2' } });
    const first = await create(base);
    await create(base);
    const refused = await api(base, 'POST', '/api/recordings', { sessionId: 's', mimeType: 'video/webm;codecs=vp9' });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_requests' } });
    // Someone else is not affected.
    await create(base, t!.auth.other);
    const ok = await put(await urlOf(base, first, 1, 10), randomBytes(10));
    expect((await complete(base, first, [ok.headers.get('etag')!])).status).toBe(200);
    await create(base);
  });

  it('refuses parts over SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER across open recordings (413)', async () => {
    const base = await start({ env: { SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER: '1' } });
    const a = await create(base);
    const b = await create(base);
    expect((await partUrl(base, a, 1, 600_000)).status).toBe(200);
    const over = await partUrl(base, b, 1, 600_000);
    expect(over.status).toBe(413);
    expect(((await over.json()) as { error: { message: string } }).error.message).toMatch(/your open recordings/);
    expect((await partUrl(base, b, 1, MiB - 600_000)).status).toBe(200);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
