/**
 * S3 server-side encryption (SORTIE_RECORDING_S3_SSE, _KMS_KEY_ID): every
 * request that makes an object asks for it, by the service (CreateMultipartUpload
 * of a recording and of its rewrites, PutObject of a thumbnail) and by the
 * browser (the tails' POST forms, whose policy signs the field); the parts,
 * part copies and completions carry none, since S3 refuses SSE-S3/SSE-KMS
 * headers there. Against the loopback S3 server, which records each write's
 * SSE headers and refuses them where S3 does (test/s3-server.ts); each
 * recording goes through parts, tails, a thumbnail, the Duration patch or
 * the repair of a recording ended by a beacon, and downloads byte for byte.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HeadObjectCommand, S3ServiceException, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebmScanner, setWebmDuration } from '@sortie/webm';
import type { TailTargets } from '@sortie/contract';
import { S3Storage } from '../src/storage/s3.js';
import { thumbnailName } from '../src/timeline/service.js';
import { fakeClock, postTail, testApp, type TestApp } from './helpers.js';
import { SSE_HEADER, SSE_KMS_KEY_HEADER, s3Env, sharedS3Server, type S3TestServer } from './s3-server.js';

const MiB = 1024 * 1024;
const fixturePath = new URL('../../../packages/recorder/test/fixtures/chromium-vp9.webm', import.meta.url);
/** Where the fixture's one Cluster starts (its head: EBML header, Segment, Info, Tracks). */
const CLUSTER_AT = 143;
const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Operations that make an object, and must ask for the encryption; and those S3 refuses it on. */
const CREATES = ['CreateMultipartUpload', 'PutObject', 'PostObject'];
const PART_WRITES = ['UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload'];

let s3: S3TestServer;
let fixture: Buffer;

beforeAll(async () => {
  s3 = await sharedS3Server();
  fixture = await readFile(fixturePath);
  expect(fixture.readUInt32BE(CLUSTER_AT)).toBe(0x1f43b675);
});

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

const cases: { name: string; env: Record<string, string>; sse: Record<string, string> }[] = [
  { name: 'SSE-S3 (AES256)', env: { SORTIE_RECORDING_S3_SSE: 'AES256' }, sse: { [SSE_HEADER]: 'AES256' } },
  {
    name: 'SSE-KMS with a key id',
    env: { SORTIE_RECORDING_S3_SSE: 'aws:kms', SORTIE_RECORDING_S3_SSE_KMS_KEY_ID: KMS_KEY },
    sse: { [SSE_HEADER]: 'aws:kms', [SSE_KMS_KEY_HEADER]: KMS_KEY },
  },
];

describe.each(cases)('S3 server-side encryption: $name', ({ env, sse }) => {
  let t: TestApp;
  const clock = fakeClock();
  const prefix = `sse-${randomUUID()}/`;
  /** The writes of this suite's recordings (the server is shared by the file). */
  const writes = () => s3.writes.filter((w) => w.key.startsWith(prefix));

  beforeAll(async () => {
    t = await testApp({ clock, env: { ...s3Env(s3, prefix), ...env } });
  });
  afterAll(async () => {
    t?.service.jobs.sweeper.stopPending();
    await t?.close();
  });

  async function create(): Promise<{ id: string; endUrl: string }> {
    const r = await t.json('POST', '/api/recordings', { sessionId: 'sse', mimeType: 'video/webm' }, t.auth.user);
    expect(r.status).toBe(201);
    return (await r.json()) as { id: string; endUrl: string };
  }

  async function sendPart(id: string, partNumber: number, bytes: Buffer): Promise<string> {
    const r = await t.json('POST', `/api/recordings/${id}/parts`, { partNumber, sizeBytes: bytes.length }, t.auth.user);
    expect(r.status).toBe(200);
    const target = (await r.json()) as { url: string; headers: Record<string, string> };
    // As the SDK sends it: the headers the service hands out, and nothing else.
    const put = await fetch(target.url, { method: 'PUT', headers: target.headers, body: bytes });
    expect(put.status).toBe(200);
    return put.headers.get('etag')!;
  }

  async function tailTargets(id: string, partNumber: number): Promise<TailTargets['urls']> {
    const r = await t.json('POST', `/api/recordings/${id}/tails`, { partNumber, firstSeq: 0 }, t.auth.user);
    expect(r.status).toBe(200);
    return ((await r.json()) as TailTargets).urls.filter((u) => u.partNumber === partNumber);
  }

  async function putThumbnail(id: string): Promise<void> {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(500)]);
    const put = await t.app.request(`/api/recordings/${id}/thumbnails/0`, {
      method: 'PUT',
      headers: { ...t.auth.user, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(put.status).toBe(204);
  }

  async function downloaded(id: string): Promise<Buffer> {
    const dl = await t.json('GET', `/api/recordings/${id}/download`, undefined, t.auth.user);
    expect(dl.status).toBe(302);
    const res = await fetch(dl.headers.get('location')!);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  /** What the store says of the object's encryption (HeadObject). */
  async function storedSse(key: string): Promise<Record<string, string | undefined>> {
    const client = (t.storage as S3Storage).client;
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    return { algorithm: head.ServerSideEncryption, kmsKeyId: head.SSEKMSKeyId };
  }
  const expectedStored = { algorithm: sse[SSE_HEADER], kmsKeyId: sse[SSE_KMS_KEY_HEADER] };

  it('a recording stopped normally: parts, tails, a thumbnail, the Duration patch; every object encrypted', async () => {
    const before = writes().length;
    // Over 5 MiB, as a recording whose part 1 went up during capture: its head has no Duration, which the
    // service writes by a rewrite (a new multipart upload, part 1 sent, the rest copied inside the bucket).
    const big = Buffer.concat([fixture.subarray(0, CLUSTER_AT), paddingCluster(6 * MiB), fixture.subarray(CLUSTER_AT)]);
    const rec = await create();
    await putThumbnail(rec.id);
    const etag1 = await sendPart(rec.id, 1, big.subarray(0, 5 * MiB));
    // The tail the SDK keeps of part 2 while it fills, then part 2 itself.
    const [tail] = await tailTargets(rec.id, 2);
    expect(tail!.fields).toMatchObject(sse);
    expect((await postTail(tail!, big.subarray(5 * MiB, 5 * MiB + 1000))).status).toBe(204);
    const etag2 = await sendPart(rec.id, 2, big.subarray(5 * MiB));
    const parts = [
      { partNumber: 1, etag: etag1 },
      { partNumber: 2, etag: etag2 },
    ];
    const done = await t.json('POST', `/api/recordings/${rec.id}/complete`, { durationMs: 2001, parts }, t.auth.user);
    expect(done.status).toBe(200);
    const head = setWebmDuration(big.subarray(0, 64 * 1024), 2001)!;
    const expected = Buffer.concat([head, big.subarray(64 * 1024)]);
    expect(await done.json()).toMatchObject({ status: 'ready', sizeBytes: expected.length });
    expect((await downloaded(rec.id)).equals(expected)).toBe(true);

    const row = (await t.service.recordings.rowById(rec.id))!;
    expect(await storedSse(`${prefix}${row.storageKey}`)).toEqual(expectedStored);
    expect(await storedSse(`${prefix}${row.storageKey}.assets/${thumbnailName(0)}`)).toEqual(expectedStored);

    const mine = writes().slice(before);
    // Two multipart uploads (the recording, its rewrite), the parts of each, a copy, the tail and the thumbnail.
    expect(new Set(mine.map((w) => w.op))).toEqual(new Set([...CREATES, ...PART_WRITES]));
    expect(mine.filter((w) => w.op === 'CreateMultipartUpload')).toHaveLength(2);
    for (const w of mine) {
      expect(w.status, `${w.op} ${w.key}`).toBeLessThan(300);
      expect(w.sse, `${w.op} ${w.key}`).toEqual(CREATES.includes(w.op) ? sse : {});
    }
  });

  it('a recording ended by a beacon: its tails folded into a last part, repaired by a rewrite; all encrypted', async () => {
    const before = writes().length;
    const cut = fixture.subarray(0, 10_500);
    const s = new WebmScanner();
    s.push(cut);
    const { cutAt, durationMs } = s.result;
    expect(cutAt).toBeLessThan(cut.length);
    const rec = await create();
    const targets = await tailTargets(rec.id, 1);
    const step = Math.ceil(cut.length / 3);
    for (let seq = 0, at = 0; at < cut.length; seq++, at += step) {
      const target = targets.find((u) => u.seq === seq)!;
      expect((await postTail(target, cut.subarray(at, at + step))).status).toBe(204);
    }
    expect((await t.send(new URL(rec.endUrl).pathname, { method: 'POST', body: 'end' })).status).toBe(202);
    clock.advance(5_000);
    await t.service.jobs.sweeper.run();
    const ready = (await (await t.json('GET', `/api/recordings/${rec.id}`, undefined, t.auth.user)).json()) as {
      status: string;
      endedBy: string;
    };
    expect(ready).toMatchObject({ status: 'ready', endedBy: 'beacon' });
    const expected = Buffer.from(setWebmDuration(cut.subarray(0, cutAt!), durationMs!)!);
    expect((await downloaded(rec.id)).equals(expected)).toBe(true);
    const row = (await t.service.recordings.rowById(rec.id))!;
    expect(await storedSse(`${prefix}${row.storageKey}`)).toEqual(expectedStored);

    const mine = writes().slice(before);
    // The tails (browser), the folded part (service), the upload of the rewrite and its part.
    expect(mine.filter((w) => w.op === 'PostObject')).toHaveLength(3);
    expect(mine.filter((w) => w.op === 'CreateMultipartUpload')).toHaveLength(2);
    expect(mine.filter((w) => w.op === 'UploadPart').length).toBeGreaterThanOrEqual(2);
    for (const w of mine) {
      expect(w.status, `${w.op} ${w.key}`).toBeLessThan(300);
      expect(w.sse, `${w.op} ${w.key}`).toEqual(CREATES.includes(w.op) ? sse : {});
    }
  });

  it("a tail form without the encryption field is refused: the field is in the policy's signed conditions", async () => {
    const rec = await create();
    const [target] = await tailTargets(rec.id, 1);
    const fields = Object.fromEntries(Object.entries(target!.fields).filter(([k]) => !k.startsWith(SSE_HEADER)));
    const res = await postTail({ url: target!.url, fields }, randomBytes(100));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Policy Condition failed');
    const changed = { ...target!.fields, [SSE_HEADER]: sse[SSE_HEADER] === 'AES256' ? 'aws:kms' : 'AES256' };
    expect((await postTail({ url: target!.url, fields: changed }, randomBytes(100))).status).toBe(403);
  });
});

describe('the loopback S3 server holds S3’s rules on SSE headers', () => {
  it('refuses SSE-S3 and SSE-KMS headers on UploadPart, as S3 does (400 InvalidArgument)', async () => {
    const prefix = `sse-rules-${randomUUID()}/`;
    const storage = new S3Storage({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      prefix,
      sse: { algorithm: 'AES256' },
    });
    const key = `${randomUUID()}.webm`;
    const uploadId = await storage.createUpload(key, 'video/webm');
    for (const extra of [{ [SSE_HEADER]: 'AES256' }, { [SSE_HEADER]: 'aws:kms', [SSE_KMS_KEY_HEADER]: KMS_KEY }]) {
      const command = new UploadPartCommand({
        Bucket: s3.bucket,
        Key: `${prefix}${key}`,
        UploadId: uploadId,
        PartNumber: 1,
        Body: randomBytes(10),
      });
      // The SDK models no SSE on UploadPart: added (and signed) as clients that send it on every request do.
      command.middlewareStack.add(
        (next) => (args) => {
          Object.assign((args.request as { headers: Record<string, string> }).headers, extra);
          return next(args);
        },
        { step: 'build' },
      );
      const err = await storage.client.send(command).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3ServiceException);
      expect((err as S3ServiceException).name).toBe('InvalidArgument');
      expect((err as S3ServiceException).message).toBe(`${SSE_HEADER} header is not supported for this operation.`);
    }
    const refused = s3.writes.filter((w) => w.key === `${prefix}${key}` && w.op === 'UploadPart');
    expect(refused.map((w) => w.status)).toEqual([400, 400]);
    await storage.abortUpload({ key, uploadId });
  });
});
