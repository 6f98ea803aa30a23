/**
 * The storage contract (types.ts), one suite run against every backend, the
 * way tus-node-server tests its DataStores: local disk in a temp folder, and
 * S3 against the loopback S3 server of test/s3-server.ts. Parts reach each
 * backend the way clients send them: a PUT to the presigned URL (S3), or,
 * for a backend with a part receiver (local), the URL it issued is verified
 * and the body handed to writePart, as the service's own PUT route does.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedS3Server } from '../../test/s3-server.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import { InvalidPartError, keyFor, normalizeEtag, type RecordingStorage } from './types.js';

interface Backend {
  name: 'local' | 's3';
  make(): Promise<RecordingStorage>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const backends: Backend[] = [
  {
    name: 'local',
    async make() {
      const dir = await mkdtemp(path.join(tmpdir(), 'sortie-contract-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const s = new LocalStorage({ root: dir, signingKey: randomBytes(32).toString('hex') });
      await s.init();
      return s;
    },
  },
  {
    name: 's3',
    async make() {
      const server = await sharedS3Server();
      return new S3Storage({
        bucket: server.bucket,
        region: server.region,
        endpoint: server.endpoint,
        prefix: `contract-${randomUUID()}/`,
      });
    },
  },
];

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/**
 * The ETag validates the bytes: S3's is their MD5; the local backend's starts
 * with their CRC-32C (Castagnoli) and length (docs/API.md: any quoted strong validator).
 */
function expectValidates(backend: Backend['name'], etag: string, bytes: Buffer): void {
  // The checksum is CRC-32C: its check value (RFC 3720, B.4) pins the polynomial, not only this library.
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  if (backend === 's3') expect(normalizeEtag(etag)).toBe(md5(bytes));
  else
    expect(
      normalizeEtag(etag).startsWith(`${crc32c(bytes).toString(16).padStart(8, '0')}-${bytes.length.toString(16)}-`),
    ).toBe(true);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe.each(backends)('storage contract: $name', (backend) => {
  let storage: RecordingStorage;
  /** A part size every backend accepts for a part that is not the last. */
  const full = () => Math.max(storage.minPartSizeBytes, 1000);

  async function newUpload() {
    const key = keyFor(randomUUID(), 'video/webm;codecs=vp9');
    const uploadId = await storage.createUpload(key, 'video/webm;codecs=vp9');
    return { key, uploadId };
  }

  /** Sends one part the way a client would; answers the ETag the PUT returned. */
  async function sendPart(
    u: { key: string; uploadId: string | null },
    partNumber: number,
    bytes: Buffer,
  ): Promise<string> {
    const recordingId = u.key.split('.')[0]!;
    const target = await storage.presignPart({
      ...u,
      recordingId,
      userId: 'contract-user',
      partNumber,
      sizeBytes: bytes.length,
      expiresInSeconds: 60,
      origin: 'http://127.0.0.1:9',
    });
    if (!storage.receiver) {
      const res = await fetch(target.url, { method: 'PUT', headers: target.headers, body: bytes });
      expect(res.status, await res.clone().text()).toBe(200);
      return res.headers.get('etag')!;
    }
    // The URL points back at the service: what its PUT route would do with it.
    expect(target.url.startsWith('http://127.0.0.1:9/api/uploads/')).toBe(true);
    const claims = await storage.receiver.verifyPartUrl(target.url.split('/').pop()!);
    expect(claims).toEqual({ recordingId, partNumber, sizeBytes: bytes.length, userId: 'contract-user', key: u.key });
    return (
      await storage.receiver.writePart({
        key: u.key,
        partNumber,
        sizeBytes: bytes.length,
        body: Readable.from([bytes]),
      })
    ).etag;
  }

  /** Sends a part again; where the service keeps the versions (a receiver), it discards the one replaced, as acceptPart does. */
  async function resendPart(
    u: { key: string; uploadId: string | null },
    partNumber: number,
    bytes: Buffer,
    old: string,
  ): Promise<string> {
    const etag = await sendPart(u, partNumber, bytes);
    await storage.receiver?.discardPart({ key: u.key, partNumber, etag: old });
    return etag;
  }

  it('is built', async () => {
    storage = await backend.make();
    expect(storage.backend).toBe(backend.name);
    expect(storage.maxParts).toBe(10_000);
  });

  it('answers the readiness check', async () => {
    await expect(storage.check()).resolves.toBeUndefined();
  });

  it('gives S3 an upload id and local none', async () => {
    const { uploadId } = await newUpload();
    if (backend.name === 's3') expect(uploadId).toMatch(/\S+/);
    else expect(uploadId).toBeNull();
  });

  it('joins parts sent out of order into one object, in part order', async () => {
    const u = await newUpload();
    const parts = [randomBytes(full()), randomBytes(full() + 7), randomBytes(10)];
    const etags: string[] = [];
    for (const i of [2, 0, 1]) etags[i] = await sendPart(u, i + 1, parts[i]!);
    parts.forEach((p, i) => expectValidates(backend.name, etags[i]!, p));
    const done = await storage.completeUpload({ ...u, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) });
    const whole = Buffer.concat(parts);
    expect(done.sizeBytes).toBe(whole.length);
    expect(await storage.stat(u.key)).toEqual({ sizeBytes: whole.length });
    expect((await readAll(await storage.read(u.key))).equals(whole)).toBe(true);
  });

  it('reads one byte range of a finished object', async () => {
    const u = await newUpload();
    const bytes = randomBytes(5000);
    const etag = await sendPart(u, 1, bytes);
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag }] });
    const got = await readAll(await storage.read(u.key, { start: 100, end: 1099 }));
    expect(got.equals(bytes.subarray(100, 1100))).toBe(true);
  });

  it('replaces a part that is sent again with the same number', async () => {
    const u = await newUpload();
    const first = randomBytes(300);
    const second = randomBytes(400);
    const oldEtag = await sendPart(u, 1, first);
    const newEtag = await resendPart(u, 1, second, oldEtag);
    expect(normalizeEtag(newEtag)).not.toBe(normalizeEtag(oldEtag));
    await expect(storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag: oldEtag }] })).rejects.toBeInstanceOf(
      InvalidPartError,
    );
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag: newEtag }] });
    expect((await readAll(await storage.read(u.key))).equals(second)).toBe(true);
  });

  it('refuses to complete with an ETag it does not hold, and keeps the upload', async () => {
    const u = await newUpload();
    const bytes = randomBytes(200);
    const etag = await sendPart(u, 1, bytes);
    await expect(
      storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag: `"${'0'.repeat(32)}"` }] }),
    ).rejects.toBeInstanceOf(InvalidPartError);
    expect(await storage.stat(u.key)).toBeNull();
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag }] });
    expect(await storage.stat(u.key)).toEqual({ sizeBytes: 200 });
  });

  it('refuses to complete with a part that was never sent', async () => {
    const u = await newUpload();
    const etag = await sendPart(u, 1, randomBytes(full()));
    await expect(
      storage.completeUpload({
        ...u,
        parts: [
          { partNumber: 1, etag },
          { partNumber: 2, etag: `"${'1'.repeat(32)}"` },
        ],
      }),
    ).rejects.toBeInstanceOf(InvalidPartError);
  });

  it('answers a repeated complete with the finished object', async () => {
    const u = await newUpload();
    const etag = await sendPart(u, 1, randomBytes(123));
    const parts = [{ partNumber: 1, etag }];
    await storage.completeUpload({ ...u, parts });
    await expect(storage.completeUpload({ ...u, parts })).resolves.toEqual({ sizeBytes: 123 });
  });

  it('lists the parts of an unfinished upload in order, with ETag and size', async () => {
    const u = await newUpload();
    const a = randomBytes(150);
    const b = randomBytes(250);
    await sendPart(u, 2, b);
    await sendPart(u, 1, a);
    const listed = await storage.listParts(u);
    expect(listed.map((p) => ({ partNumber: p.partNumber, sizeBytes: p.sizeBytes }))).toEqual([
      { partNumber: 1, sizeBytes: 150 },
      { partNumber: 2, sizeBytes: 250 },
    ]);
    expectValidates(backend.name, listed[0]!.etag, a);
    expectValidates(backend.name, listed[1]!.etag, b);
  });

  it('discards every part on abort, and aborting again is harmless', async () => {
    const u = await newUpload();
    await sendPart(u, 1, randomBytes(100));
    expect(await storage.listParts(u)).toHaveLength(1);
    await storage.abortUpload(u);
    expect(await storage.listParts(u)).toEqual([]);
    await expect(storage.abortUpload(u)).resolves.toBeUndefined();
    expect(await storage.stat(u.key)).toBeNull();
  });

  it('deletes a finished object, and deleting again is harmless', async () => {
    const u = await newUpload();
    const etag = await sendPart(u, 1, randomBytes(64));
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag }] });
    expect(await storage.stat(u.key)).not.toBeNull();
    await storage.delete(u.key);
    expect(await storage.stat(u.key)).toBeNull();
    await expect(storage.delete(u.key)).resolves.toBeUndefined();
  });

  it('knows no object that was never finished', async () => {
    const u = await newUpload();
    expect(await storage.stat(u.key)).toBeNull();
  });

  it('refuses a key that is not a recording key', async () => {
    await expect(storage.stat('../../etc/passwd')).rejects.toThrow(/invalid storage key/);
    await expect(storage.delete('other-prefix/x.webm')).rejects.toThrow(/invalid storage key/);
  });

  it('downloads through a presigned URL with the file name (S3), or leaves downloads to the service (local)', async () => {
    const u = await newUpload();
    const bytes = randomBytes(2048);
    const etag = await sendPart(u, 1, bytes);
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag }] });
    const url = await storage.presignDownload({
      key: u.key,
      filename: 'recording-s-1.webm',
      mimeType: 'video/webm;codecs=vp9',
      expiresInSeconds: 60,
    });
    if (backend.name === 'local') {
      expect(url).toBeNull();
      return;
    }
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="recording-s-1.webm"');
    expect(res.headers.get('content-type')).toBe('video/webm');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });
  it('keeps small files beside a recording, reads them back, and deletes them all at once', async () => {
    const u = await newUpload();
    const other = await newUpload();
    const a = randomBytes(3000);
    const b = randomBytes(10);
    await storage.putAsset(u.key, 't-000000000.jpg', a, 'image/jpeg');
    await storage.putAsset(u.key, 't-000010000.jpg', randomBytes(5), 'image/jpeg');
    await storage.putAsset(u.key, 't-000010000.jpg', b, 'image/jpeg'); // replaces
    await storage.putAsset(other.key, 't-000000000.jpg', a, 'image/jpeg');
    expect((await readAll((await storage.readAsset(u.key, 't-000000000.jpg'))!)).equals(a)).toBe(true);
    expect((await readAll((await storage.readAsset(u.key, 't-000010000.jpg'))!)).equals(b)).toBe(true);
    expect(await storage.readAsset(u.key, 't-000020000.jpg')).toBeNull();
    await storage.deleteAssets(u.key);
    expect(await storage.readAsset(u.key, 't-000000000.jpg')).toBeNull();
    expect(await storage.readAsset(u.key, 't-000010000.jpg')).toBeNull();
    await expect(storage.deleteAssets(u.key)).resolves.toBeUndefined();
    // Another recording's files are untouched.
    expect((await readAll((await storage.readAsset(other.key, 't-000000000.jpg'))!)).equals(a)).toBe(true);
  });

  it('keeps tail objects where parts have a floor (S3) and offers none where they may be any size (local)', async () => {
    if (storage.minPartSizeBytes <= 1) {
      expect(storage.tails).toBeUndefined();
      return;
    }
    const tails = storage.tails!;
    const u = await newUpload();
    const id = u.key.split('.')[0]!;
    const other = randomUUID();
    const bytes = [randomBytes(700), randomBytes(1), randomBytes(300)];
    const put = async (rid: string, partNumber: number, seq: number, body: Buffer) => {
      const target = await tails.presignTail({
        recordingId: rid,
        partNumber,
        seq,
        maxBytes: 1000,
        expiresAt: new Date(Date.now() + 60_000),
      });
      const form = new FormData();
      for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
      form.append('file', new Blob([body]));
      expect((await fetch(target.url, { method: 'POST', body: form })).status).toBe(204);
    };
    await put(id, 1, 0, bytes[0]!);
    await put(id, 1, 1, bytes[1]!);
    await put(id, 2, 0, bytes[2]!);
    await put(other, 1, 0, randomBytes(5));
    const listed = (await tails.listTails(id)).sort((a, b) => a.partNumber - b.partNumber || a.seq - b.seq);
    expect(listed).toEqual([
      { partNumber: 1, seq: 0, sizeBytes: 700 },
      { partNumber: 1, seq: 1, sizeBytes: 1 },
      { partNumber: 2, seq: 0, sizeBytes: 300 },
    ]);
    expect((await readAll(await tails.readTail(id, { partNumber: 2, seq: 0 }))).equals(bytes[2]!)).toBe(true);
    // A part stored from a stream of tails, as the fold does, joins like any other.
    const joined = Buffer.concat(bytes);
    const part = await tails.uploadPart({
      key: u.key,
      uploadId: u.uploadId!,
      partNumber: 1,
      sizeBytes: joined.length,
      body: Readable.from(bytes),
    });
    await storage.completeUpload({ ...u, parts: [{ partNumber: 1, etag: part.etag }] });
    expect((await readAll(await storage.read(u.key))).equals(joined)).toBe(true);
    await tails.deleteTails(id);
    expect(await tails.listTails(id)).toEqual([]);
    await expect(tails.deleteTails(id)).resolves.toBeUndefined();
    expect(await tails.listTails(other)).toHaveLength(1);
    await expect(
      tails.presignTail({ recordingId: '../x', partNumber: 1, seq: 0, maxBytes: 1, expiresAt: new Date() }),
    ).rejects.toThrow(/invalid recording id/);
  });

  it('rewrites a finished object from a new head and its own bytes (S3), or leaves that to the parts (local)', async () => {
    if (!storage.rewriteObject) {
      expect(storage.receiver).toBeDefined();
      return;
    }
    const u = await newUpload();
    const first = randomBytes(storage.minPartSizeBytes);
    const rest = randomBytes(3 * 1024 * 1024);
    await storage.completeUpload({
      ...u,
      parts: [
        { partNumber: 1, etag: await sendPart(u, 1, first) },
        { partNumber: 2, etag: await sendPart(u, 2, rest) },
      ],
    });
    const whole = Buffer.concat([first, rest]);
    const head = Buffer.from('a new head, longer than the 10 bytes it replaces');
    // The new head in place of the first 10 bytes, cut 1000 bytes before the end: part 1 through the
    // service up to 5 MiB, the rest copied in the bucket.
    const done = await storage.rewriteObject({
      key: u.key,
      mimeType: 'video/webm',
      head,
      from: 10,
      end: whole.length - 1000,
    });
    const expected = Buffer.concat([head, whole.subarray(10, whole.length - 1000)]);
    expect(done.sizeBytes).toBe(expected.length);
    expect((await readAll(await storage.read(u.key))).equals(expected)).toBe(true);
  });

  it('refuses an asset name that could leave the recording', async () => {
    const u = await newUpload();
    await expect(storage.putAsset(u.key, '../x.jpg', randomBytes(1), 'image/jpeg')).rejects.toThrow(
      /invalid asset name/,
    );
    await expect(storage.readAsset('../../etc/passwd', 'x.jpg')).rejects.toThrow(/invalid storage key/);
  });
});
