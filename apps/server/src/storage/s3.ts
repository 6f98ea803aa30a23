/**
 * S3 backend: one multipart upload per recording. The browser PUTs each part
 * straight to the bucket through a presigned UploadPart URL, so the service
 * never carries video; it only creates, completes and aborts uploads, and
 * hands out presigned GETs for downloads.
 *
 * Objects live at `<prefix><recording uuid>.<ext>`; the key is checked against
 * that shape before any request, so nothing a user sends can name another
 * object. Credentials come from the AWS SDK's default chain.
 *
 * Server-side encryption (`sse`), when configured, is asked for on every
 * request that makes an object: CreateMultipartUpload (the recording, its
 * rewrites), PutObject (thumbnails) and the tails' POST policies. Parts carry
 * none: S3 encrypts them with what CreateMultipartUpload named and answers
 * UploadPart, UploadPartCopy and CompleteMultipartUpload that carry SSE-S3 or
 * SSE-KMS headers with 400 InvalidArgument, so the presigned part URLs need
 * nothing more from the browser.
 */
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3ServerSideEncryption } from '../config.js';
import type { Clock } from '../lib/clock.js';
import {
  ASSET_NAME_RE,
  InvalidPartError,
  StorageError,
  type ByteRange,
  type PartTarget,
  type RecordingStorage,
  type StoredPart,
  type StoredTail,
  type TailFolder,
  type TailStore,
  type TailTarget,
} from './types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TAIL_NAME_RE = /^(\d{1,5})-(\d{1,9})$/;
const KEY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(webm|mp4)$/;

/** S3's floor for every part of a multipart upload but the last. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
/** Bytes per UploadPartCopy of a rewrite: well under S3's 5 GiB, well over its 5 MiB floor. */
const COPY_PART_BYTES = 1024 * 1024 * 1024;
/** S3's ceiling on part numbers. */
export const S3_MAX_PARTS = 10_000;

export interface S3StorageOptions {
  bucket: string;
  /** Default `us-east-1` (from the config). */
  region: string;
  /** An S3-compatible endpoint (MinIO…); null for AWS. Setting it switches to path-style addressing. */
  endpoint: string | null;
  /** Key prefix, empty or ending in "/". Default `recordings/` (from the config). */
  prefix: string;
  /** Time the presigned URLs are signed at. Default: the system clock. */
  clock?: Clock;
  /** Limit on reaching the bucket for the readiness check, in ms. Default 5000. */
  checkTimeoutMs?: number;
  /** Encryption asked for every object written; null or absent leaves it to the bucket's default. */
  sse?: S3ServerSideEncryption | null;
}

/** The SDK parameters of CreateMultipartUpload and PutObject that ask for `sse`. */
function sseParams(sse: S3ServerSideEncryption | null): {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
} {
  if (!sse) return {};
  if (sse.algorithm === 'AES256') return { ServerSideEncryption: 'AES256' };
  return { ServerSideEncryption: 'aws:kms', ...(sse.kmsKeyId ? { SSEKMSKeyId: sse.kmsKeyId } : {}) };
}

/** The same as form fields of a POST policy (S3 takes the header names as field names). */
function sseFields(sse: S3ServerSideEncryption | null): Record<string, string> {
  const p = sseParams(sse);
  return {
    ...(p.ServerSideEncryption ? { 'x-amz-server-side-encryption': p.ServerSideEncryption } : {}),
    ...(p.SSEKMSKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': p.SSEKMSKeyId } : {}),
  };
}

/** The S3 error codes for a part list that S3 will not assemble: the client's fault, a 400. */
const BAD_PART_LIST = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'NoSuchUpload']);

function s3Code(err: unknown): string | null {
  if (err instanceof S3ServiceException) return err.name;
  return null;
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey')
  );
}

export class S3Storage implements RecordingStorage {
  readonly backend = 's3' as const;
  readonly minPartSizeBytes = S3_MIN_PART_BYTES;
  readonly maxParts = S3_MAX_PARTS;
  readonly client: S3Client;
  readonly tails: TailStore;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly checkTimeoutMs: number;
  private readonly sse: S3ServerSideEncryption | null;

  constructor(opts: S3StorageOptions) {
    this.bucket = opts.bucket;
    this.sse = opts.sse ?? null;
    this.prefix = opts.prefix;
    this.clock = opts.clock ?? { now: () => new Date() };
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 5000;
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      // By default SDK v3 adds a CRC32 checksum of the (empty) body to presigned
      // UploadPart URLs; S3 then rejects the real body. Checksums only where an API requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.tails = new S3Tails(
      this.client,
      this.bucket,
      this.prefix,
      this.clock,
      (key) => this.objectKey(key),
      opts.endpoint,
      opts.region,
      this.sse,
    );
  }

  /** The object key of a recording key, refusing anything that is not one. */
  private objectKey(key: string): string {
    if (!KEY_RE.test(key)) throw new StorageError('invalid storage key');
    return this.prefix + key;
  }

  private requireUploadId(uploadId: string | null): string {
    if (!uploadId) throw new StorageError('an S3 recording needs the upload id of its multipart upload');
    return uploadId;
  }

  async createUpload(key: string, mimeType: string): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        ContentType: mimeType.split(';')[0]!,
        ...sseParams(this.sse),
      }),
    );
    if (!out.UploadId) throw new StorageError('S3 created a multipart upload without an UploadId');
    return out.UploadId;
  }

  async presignPart(args: {
    key: string;
    uploadId: string | null;
    partNumber: number;
    sizeBytes: number;
    expiresInSeconds: number;
  }): Promise<PartTarget> {
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: this.objectKey(args.key),
      UploadId: this.requireUploadId(args.uploadId),
      PartNumber: args.partNumber,
      // Signed into the URL: S3 refuses a body of any other length.
      ContentLength: args.sizeBytes,
      // No SSE here: the upload's encryption was set by CreateMultipartUpload (see the header).
    });
    const url = await getSignedUrl(this.client, command, {
      expiresIn: args.expiresInSeconds,
      signingDate: this.clock.now(),
    });
    // Nothing else to send: the browser sets Content-Length from the body itself.
    return { url, headers: {} };
  }

  async completeUpload(args: {
    key: string;
    uploadId: string | null;
    parts: { partNumber: number; etag: string }[];
  }): Promise<{ sizeBytes: number }> {
    const Key = this.objectKey(args.key);
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId: this.requireUploadId(args.uploadId),
          MultipartUpload: { Parts: args.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      const code = s3Code(err);
      if (code === 'NoSuchUpload') {
        // Already completed by an earlier call whose database update was cut short.
        const done = await this.stat(args.key);
        if (done) return done;
      }
      if (code && BAD_PART_LIST.has(code))
        throw new InvalidPartError(`S3 refused the part list (${code}): ${(err as Error).message}`, { cause: err });
      throw err;
    }
    const done = await this.stat(args.key);
    if (!done) throw new StorageError('S3 completed the upload but the object is not there');
    return done;
  }

  async abortUpload(args: { key: string; uploadId: string | null }): Promise<void> {
    if (!args.uploadId) return;
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.objectKey(args.key),
          UploadId: args.uploadId,
        }),
      );
    } catch (err) {
      if (s3Code(err) === 'NoSuchUpload') return;
      throw err;
    }
  }

  async listParts(args: { key: string; uploadId: string | null }): Promise<StoredPart[]> {
    if (!args.uploadId) return [];
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const out = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: this.objectKey(args.key),
            UploadId: args.uploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const p of out.Parts ?? []) {
          if (p.PartNumber !== undefined && p.ETag)
            parts.push({ partNumber: p.PartNumber, etag: p.ETag, sizeBytes: p.Size ?? 0 });
        }
        if (!out.IsTruncated || !out.NextPartNumberMarker) break;
        marker = out.NextPartNumberMarker;
      }
    } catch (err) {
      if (s3Code(err) === 'NoSuchUpload') return [];
      throw err;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { sizeBytes: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    // In Node the body is the HTTP response stream itself: nothing is buffered.
    if (!out.Body) throw new StorageError('S3 answered GetObject without a body');
    return out.Body as Readable;
  }

  async presignDownload(args: {
    key: string;
    filename: string;
    mimeType: string;
    expiresInSeconds: number;
  }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(args.key),
      ResponseContentDisposition: `attachment; filename="${args.filename.replace(/["\\\r\n]/g, '_')}"`,
      ResponseContentType: args.mimeType.split(';')[0]!,
    });
    return getSignedUrl(this.client, command, { expiresIn: args.expiresInSeconds, signingDate: this.clock.now() });
  }

  async delete(key: string): Promise<void> {
    // DeleteObject succeeds whether or not the object exists.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  /**
   * A new multipart upload on the same key: part 1 is `head` and the bytes
   * [from, 5 MiB) streamed through the service (S3 refuses a smaller part
   * unless it is the last); the rest is copied inside the bucket with
   * UploadPartCopy, 1 GiB a part. Completing it replaces the object; until
   * then the old one stands, and a failure aborts the new upload.
   */
  async rewriteObject(args: {
    key: string;
    mimeType: string;
    head: Uint8Array;
    from: number;
    end: number;
  }): Promise<{ sizeBytes: number }> {
    const Key = this.objectKey(args.key);
    const firstEnd = Math.min(args.end, Math.max(args.from, S3_MIN_PART_BYTES));
    const uploadId = await this.createUpload(args.key, args.mimeType);
    try {
      const read = this.read.bind(this);
      async function* first() {
        if (args.head.length) yield Buffer.from(args.head.buffer, args.head.byteOffset, args.head.length);
        if (firstEnd > args.from) yield* await read(args.key, { start: args.from, end: firstEnd - 1 });
      }
      const parts: { PartNumber: number; ETag: string | undefined }[] = [];
      const one = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key,
          UploadId: uploadId,
          PartNumber: 1,
          ContentLength: args.head.length + (firstEnd - args.from),
          Body: Readable.from(first(), { objectMode: false }),
        }),
      );
      parts.push({ PartNumber: 1, ETag: one.ETag });
      for (let start = firstEnd; start < args.end; start += COPY_PART_BYTES) {
        const last = Math.min(args.end, start + COPY_PART_BYTES) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key,
            UploadId: uploadId,
            PartNumber: parts.length + 1,
            CopySource: encodeURI(`${this.bucket}/${Key}`),
            CopySourceRange: `bytes=${start}-${last}`,
          }),
        );
        parts.push({ PartNumber: parts.length + 1, ETag: copied.CopyPartResult?.ETag });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.abortUpload({ key: args.key, uploadId }).catch(() => {});
      throw err;
    }
    const done = await this.stat(args.key);
    if (!done) throw new StorageError('S3 completed the rewrite but the object is not there');
    return done;
  }

  /** `<prefix><key>.assets/<name>`: beside the recording, under a prefix no recording key can have. */
  private assetKey(key: string, name = ''): string {
    if (name && !ASSET_NAME_RE.test(name)) throw new StorageError('invalid asset name');
    return `${this.objectKey(key)}.assets/${name}`;
  }

  async putAsset(key: string, name: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.assetKey(key, name),
        Body: bytes,
        ContentType: contentType,
        ...sseParams(this.sse),
      }),
    );
  }

  async readAsset(key: string, name: string): Promise<Readable | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.assetKey(key, name) }));
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Lists the recording's asset prefix and deletes what it finds, 1000 keys (one S3 request) at a time. */
  async deleteAssets(key: string): Promise<void> {
    const Prefix = this.assetKey(key);
    for (;;) {
      const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, MaxKeys: 1000 }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) return;
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
      if (!listed.IsTruncated) return;
    }
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
      abortSignal: AbortSignal.timeout(this.checkTimeoutMs),
    });
  }
}

/**
 * Tail objects (docs/bounded-loss.md): `<prefix>tails/<recording uuid>/<part>-<seq>`,
 * one per POST the SDK makes every maxLagMs with the bytes not yet in a part.
 * Plain objects, not parts: S3 refuses a part under 5 MiB unless it is the last.
 */
class S3Tails implements TailStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly clock: Clock,
    private readonly objectKey: (key: string) => string,
    private readonly endpoint: string | null,
    private readonly region: string,
    private readonly sse: S3ServerSideEncryption | null,
  ) {}

  /** The folder of a recording's tails, refusing anything that is not a recording id. */
  private folder(recordingId: string): string {
    if (!UUID_RE.test(recordingId)) throw new StorageError('invalid recording id');
    return `${this.prefix}tails/${recordingId}/`;
  }

  private tailKey(recordingId: string, partNumber: number, seq: number): string {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > S3_MAX_PARTS)
      throw new StorageError('invalid tail part number');
    if (!Number.isInteger(seq) || seq < 0 || seq > 999_999_999) throw new StorageError('invalid tail sequence');
    return `${this.folder(recordingId)}${partNumber}-${seq}`;
  }

  /**
   * A presigned POST (S3's browser-based upload): a policy whose
   * `content-length-range` the store itself enforces (S3, MinIO and R2 refuse
   * a larger body with EntityTooLarge), signed with SigV4 as S3 documents it
   * ("Calculating a signature", POST policy). A presigned PUT cannot bound its
   * body without signing the exact length, which a tail does not have when its
   * URL is handed out ahead of time.
   */
  async presignTail(args: {
    recordingId: string;
    partNumber: number;
    seq: number;
    maxBytes: number;
    expiresAt: Date;
  }): Promise<TailTarget> {
    const key = this.tailKey(args.recordingId, args.partNumber, args.seq);
    const creds = await this.client.config.credentials();
    const now = this.clock.now();
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const credential = `${creds.accessKeyId}/${day}/${this.region}/s3/aws4_request`;
    const fields: Record<string, string> = {
      key,
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': credential,
      'x-amz-date': amzDate,
      ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
      // In the policy like every field: the browser sends it in the form and cannot drop or change it.
      ...sseFields(this.sse),
    };
    const policy = {
      expiration: args.expiresAt.toISOString(),
      conditions: [
        { bucket: this.bucket },
        ['content-length-range', 0, args.maxBytes],
        ...Object.entries(fields).map(([k, v]) => ({ [k]: v })),
      ],
    };
    const encoded = Buffer.from(JSON.stringify(policy)).toString('base64');
    const hmac = (k: string | Buffer, data: string) => createHmac('sha256', k).update(data).digest();
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), this.region), 's3'), 'aws4_request');
    fields.policy = encoded;
    fields['x-amz-signature'] = createHmac('sha256', signingKey).update(encoded).digest('hex');
    return { url: this.postUrl(), fields };
  }

  /** Where a presigned POST goes: the bucket itself (path-style on a custom endpoint, as the client addresses it). */
  private postUrl(): string {
    if (this.endpoint) return `${this.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(this.bucket)}`;
    return `https://${this.bucket}.s3.${this.region}.amazonaws.com/`;
  }

  async *listTailFolders(pageSize = 1000): AsyncIterable<TailFolder> {
    const root = `${this.prefix}tails/`;
    let token: string | undefined;
    // Keys come in order, so a recording's tails are consecutive, whatever the page boundaries.
    let current: TailFolder | null = null;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: root, ContinuationToken: token, MaxKeys: pageSize }),
      );
      const objects = page.Contents ?? [];
      for (const o of objects) {
        const id = o.Key?.slice(root.length).split('/')[0] ?? '';
        if (!UUID_RE.test(id)) continue;
        const modified = o.LastModified ?? new Date(0);
        if (current && current.recordingId !== id) {
          yield current;
          current = null;
        }
        current ??= { recordingId: id, objects: 0, sizeBytes: 0, lastModified: modified };
        current.objects++;
        current.sizeBytes += o.Size ?? 0;
        if (modified > current.lastModified) current.lastModified = modified;
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
    }
    if (current) yield current;
  }

  async listTails(recordingId: string): Promise<StoredTail[]> {
    const folder = this.folder(recordingId);
    const out: StoredTail[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const m = o.Key ? TAIL_NAME_RE.exec(o.Key.slice(folder.length)) : null;
        if (m) out.push({ partNumber: Number(m[1]), seq: Number(m[2]), sizeBytes: o.Size ?? 0 });
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
    }
    return out;
  }

  async readTail(recordingId: string, tail: { partNumber: number; seq: number }): Promise<Readable> {
    const out = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.tailKey(recordingId, tail.partNumber, tail.seq) }),
    );
    if (!out.Body) throw new StorageError('S3 answered GetObject without a body');
    return out.Body as Readable;
  }

  async uploadPart(args: {
    key: string;
    uploadId: string;
    partNumber: number;
    sizeBytes: number;
    body: Readable;
  }): Promise<StoredPart> {
    const out = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.objectKey(args.key),
        UploadId: args.uploadId,
        PartNumber: args.partNumber,
        // Known up front, so the SDK streams the body instead of buffering it to measure it.
        ContentLength: args.sizeBytes,
        Body: args.body,
      }),
    );
    if (!out.ETag) throw new StorageError('S3 answered UploadPart without an ETag');
    return { partNumber: args.partNumber, etag: out.ETag, sizeBytes: args.sizeBytes };
  }

  async removeTails(recordingId: string, tails: { partNumber: number; seq: number }[]): Promise<void> {
    const keys = tails.map((x) => ({ Key: this.tailKey(recordingId, x.partNumber, x.seq) }));
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000), Quiet: true } }),
      );
    }
  }

  async deleteTails(recordingId: string): Promise<void> {
    const folder = this.folder(recordingId);
    // Listed again until empty (1000 keys a round): a tail PUT that lands meanwhile goes too. Bounded, so a
    // client that keeps PUTting cannot hold this here; what it adds later is removed by the next delete.
    for (let round = 0; round < 1000; round++) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder, MaxKeys: 1000 }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length === 0) return;
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
  }
}
