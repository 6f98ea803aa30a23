/**
 * The S3-compatible server the tests run against: @20minutes/s3rver on
 * 127.0.0.1, port 0, in a temporary folder. It checks SigV4 signatures
 * (header and presigned, with expiry and signed Content-Length), which is why
 * it was picked over s3rver 3.x.
 *
 * s3rver lacks a few S3 operations that the recording backend uses. Rather
 * than teach the backend to tolerate a fake server, this fixture adds them as
 * one Koa middleware in front of s3rver's router, written to the S3 API
 * reference, and every added operation first passes s3rver's own SigV4 check:
 *   - HeadBucket: s3rver computes the canonical path without the trailing "/"
 *     that SDK v3 signs for bucket-level requests, so every such request fails.
 *   - AbortMultipartUpload and ListParts: s3rver answers 405.
 *   - CompleteMultipartUpload: s3rver checks no ETag, no order and no part
 *     size, and a missing part crashes its process. Here it answers S3's
 *     NoSuchUpload, InvalidPartOrder, InvalidPart and EntityTooSmall (5 MiB).
 *   - UploadPart to an unknown or aborted upload: s3rver recreates it; S3
 *     answers NoSuchUpload.
 *   - ListObjectsV2 that is truncated: s3rver's continuation tokens need DES,
 *     which Node 20's OpenSSL no longer has (InternalError on every page but
 *     the last). Here the token is the last key listed.
 *   - POST Object (presigned POST, the tails): s3rver ignores the policy. Here
 *     its signature, expiry and conditions, content-length-range included,
 *     are checked first (policyPost).
 *   - Server-side encryption: s3rver ignores it. Here every request that
 *     writes an object is recorded with its SSE headers (or form fields) in
 *     `writes`; as S3 does, UploadPart, UploadPartCopy and
 *     CompleteMultipartUpload carrying SSE-S3/SSE-KMS headers are refused
 *     (400 InvalidArgument, "… header is not supported for this operation"),
 *     so are an unknown algorithm and a KMS key id without aws:kms; and an
 *     object keeps the encryption it was written with (PutObject, POST, or the
 *     CreateMultipartUpload of the upload completed on it), answered in
 *     HeadObject's and GetObject's x-amz-server-side-encryption headers.
 * Everything else (CreateMultipartUpload, UploadPart, GetObject with Range and
 * response-content-disposition, HeadObject, DeleteObject, PutObject, and the
 * bucket-level ListObjectsV2 and DeleteObjects with the HeadBucket signature fix)
 * is s3rver's own.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);
const S3RVER_MAIN = require.resolve('@20minutes/s3rver');
const fromS3rver = createRequire(S3RVER_MAIN);
/* eslint-disable @typescript-eslint/no-explicit-any -- s3rver ships no types; the few shapes used are typed below. */
const S3rver = fromS3rver(S3RVER_MAIN) as new (options: Record<string, unknown>) => S3rverInstance;
const authentication = fromS3rver('./middleware/authentication') as () => KoaMiddleware;
const S3Error = fromS3rver('./models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, unknown>,
) => Error;
const Busboy = fromS3rver('busboy') as (opts: { headers: Record<string, unknown> }) => NodeJS.WritableStream & {
  on(event: string, fn: (...args: any[]) => void): unknown;
};
const { XMLParser } = fromS3rver('fast-xml-parser') as { XMLParser: new () => { parse(xml: string): any } };

type KoaMiddleware = (ctx: any, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: {
    getBucket(name: string): Promise<unknown>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    listObjects(bucket: string, options: Record<string, unknown>): Promise<any>;
    putObjectMultipart(
      bucket: string,
      uploadId: string,
      parts: { number: number; etag: string }[],
    ): Promise<{ md5: string; size: number }>;
  };
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}

/** s3rver's built-in account. */
export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';
/** S3's own floor for every part but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

/** The request header (or POST form field) names of SSE-S3 and SSE-KMS. */
export const SSE_HEADER = 'x-amz-server-side-encryption';
export const SSE_KMS_KEY_HEADER = 'x-amz-server-side-encryption-aws-kms-key-id';
const SSE_ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/** One request that writes (part of) an object, as the server received it. */
export interface S3Write {
  op:
    | 'CreateMultipartUpload'
    | 'UploadPart'
    | 'UploadPartCopy'
    | 'CompleteMultipartUpload'
    | 'PutObject'
    | 'CopyObject'
    | 'PostObject';
  key: string;
  /** Its x-amz-server-side-encryption* headers (form fields for PostObject), names in lower case. */
  sse: Record<string, string>;
  /** The status answered. */
  status: number;
}

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  region: string;
  directory: string;
  /** Upload ids of multipart uploads still open in `bucket` (neither completed nor aborted). */
  openUploads(): Promise<string[]>;
  /** Every request the server received, in order: "METHOD /path?query". */
  requests: string[];
  /** Every request that wrote an object or part, in order, with its SSE headers (see the header). */
  writes: S3Write[];
  close(): Promise<void>;
}

export interface S3TestServerOptions {
  bucket?: string;
  /** CORS rules of the bucket (CORSConfiguration XML), for browser runs. */
  corsXml?: string;
}

export async function startS3Server(opts: S3TestServerOptions = {}): Promise<S3TestServer> {
  const bucket = opts.bucket ?? 'sortie-test';
  const directory = mkdtempSync(path.join(tmpdir(), 'sortie-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: opts.corsXml ? [opts.corsXml] : [] }],
  });
  const requests: string[] = [];
  const writes: S3Write[] = [];
  /** The SSE headers each object was written with ("bucket/key"), and each open upload was created with. */
  const objectSse = new Map<string, Record<string, string>>();
  const uploadSse = new Map<string, Record<string, string>>();
  const uploadsDir = (b: string) => server.store.getResourcePath(b, undefined, 'uploads');
  // After s3rver's logger, XML encoder, mount and vhost middleware; before its router.
  server.middleware.splice(server.middleware.length - 1, 0, missingOperations(uploadsDir));
  server.middleware.unshift(async (ctx, next) => {
    requests.push(`${ctx.method} ${ctx.url}`);
    const op = writeOp(ctx);
    if (!op) {
      await next();
      // As S3 does: an encrypted object says so in HeadObject's and GetObject's answers.
      const sse = (ctx.method === 'GET' || ctx.method === 'HEAD') && objectSse.get(objectPath(ctx.path));
      if (sse && ctx.status >= 200 && ctx.status < 300) for (const [h, v] of Object.entries(sse)) ctx.set(h, v);
      return;
    }
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = (err as { status?: number; statusCode?: number }).status ?? 500;
      throw err;
    } finally {
      const sse = op === 'PostObject' ? ((ctx.state.sseFields as Record<string, string>) ?? {}) : sseHeaders(ctx);
      const key = op === 'PostObject' ? String(ctx.state.postKey ?? '') : objectPath(ctx.path).replace(/^[^/]*\//, '');
      writes.push({ op, key, sse, status });
      if (status >= 200 && status < 300) {
        const q = ctx.query as Record<string, string | undefined>;
        if (op === 'CreateMultipartUpload') {
          const id = /<UploadId>([^<]+)<\/UploadId>/.exec(String(ctx.body))?.[1];
          if (id) uploadSse.set(id, sse);
        } else if (op === 'CompleteMultipartUpload') {
          objectSse.set(objectPath(ctx.path), uploadSse.get(q.uploadId ?? '') ?? {});
          uploadSse.delete(q.uploadId ?? '');
        } else if (op === 'PutObject' || op === 'CopyObject') {
          objectSse.set(objectPath(ctx.path), sse);
        } else if (op === 'PostObject') {
          objectSse.set(`${objectPath(ctx.path).replace(/\/$/, '')}/${key}`, sse);
        }
      }
    }
  });
  const { port } = await server.run();
  // A test file's worker must be free to exit with the server still open.
  server.httpServer?.unref();
  // A browser closed mid-upload (the tab-close tests) aborts its request, and Node emits that "aborted" a tick
  // later, when s3rver's body readers may have let go: without a listener it is thrown in the test's process.
  server.httpServer?.on('request', (req: IncomingMessage) => req.on('error', () => {}));
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    directory,
    requests,
    writes,
    async openUploads() {
      const names = await readdir(uploadsDir(bucket)).catch(() => [] as string[]);
      return names.filter((n) => /^[0-9a-f]+$/.test(n));
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

let shared: Promise<S3TestServer> | null = null;

/**
 * One server per test worker (one per test file), started on first use.
 * Sets the AWS credentials in process.env: the SDK's default chain reads them
 * from there, as it would in production.
 */
export function sharedS3Server(): Promise<S3TestServer> {
  process.env.AWS_ACCESS_KEY_ID = S3_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = S3_SECRET_ACCESS_KEY;
  shared ??= startS3Server();
  return shared;
}

/** The service's environment for a backend in `server` under `prefix`. */
export function s3Env(server: S3TestServer, prefix: string): Record<string, string> {
  return {
    SORTIE_RECORDING_STORAGE_BACKEND: 's3',
    SORTIE_RECORDING_S3_BUCKET: server.bucket,
    SORTIE_RECORDING_S3_REGION: server.region,
    SORTIE_RECORDING_S3_ENDPOINT: server.endpoint,
    SORTIE_RECORDING_S3_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
  };
}

/** "bucket/key" (or "bucket") of a path-style request path. */
function objectPath(p: string): string {
  return p.replace(/^\//, '').split('/').map(decodeURIComponent).join('/');
}

/** The request's x-amz-server-side-encryption* headers, names in lower case. */
function sseHeaders(ctx: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [h, v] of Object.entries(ctx.headers as Record<string, string | string[] | undefined>))
    if (h.startsWith(SSE_HEADER) && v !== undefined) out[h] = String(v);
  return out;
}

/** The S3 operation of a request that writes an object or a part, or null for any other. */
function writeOp(ctx: any): S3Write['op'] | null {
  const m = /^\/[^/]+(\/.*)?$/.exec(ctx.path);
  if (!m) return null;
  const hasKey = (m[1] ?? '').length > 1;
  const q = ctx.query as Record<string, string | undefined>;
  const copy = ctx.headers['x-amz-copy-source'] !== undefined;
  if (ctx.method === 'PUT' && hasKey && q.uploadId !== undefined && q.partNumber !== undefined)
    return copy ? 'UploadPartCopy' : 'UploadPart';
  // SDK v3 adds "x-id=PutObject"; subresources (acl, tagging…) write no object.
  const subresource = Object.keys(q).some((k) => k !== 'x-id' && !k.startsWith('X-Amz-'));
  if (ctx.method === 'PUT' && hasKey && !subresource) return copy ? 'CopyObject' : 'PutObject';
  if (ctx.method === 'POST' && hasKey && q.uploads !== undefined) return 'CreateMultipartUpload';
  if (ctx.method === 'POST' && hasKey && q.uploadId !== undefined) return 'CompleteMultipartUpload';
  if (ctx.method === 'POST' && !hasKey && ctx.is('multipart/form-data')) return 'PostObject';
  return null;
}

/**
 * S3's checks of SSE-S3/SSE-KMS on a write: refused on the parts of a multipart upload and on its
 * completion (their encryption is the one CreateMultipartUpload named); elsewhere a known algorithm,
 * and a KMS key id only with aws:kms. `given` holds the headers (or a POST form's fields).
 */
function checkSse(op: S3Write['op'], given: Record<string, string>): void {
  const invalid = (name: string, message: string) =>
    new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: given[name] ?? 'null' });
  if (op === 'UploadPart' || op === 'UploadPartCopy' || op === 'CompleteMultipartUpload') {
    for (const name of [SSE_HEADER, SSE_KMS_KEY_HEADER])
      if (given[name] !== undefined) throw invalid(name, `${name} header is not supported for this operation.`);
    return;
  }
  const algorithm = given[SSE_HEADER];
  if (algorithm !== undefined && !SSE_ALGORITHMS.includes(algorithm))
    throw invalid(SSE_HEADER, 'The encryption method specified is not supported');
  if (given[SSE_KMS_KEY_HEADER] !== undefined && !algorithm?.startsWith('aws:kms'))
    throw invalid(
      SSE_KMS_KEY_HEADER,
      `Server Side Encryption with AWS KMS managed key requires HTTP header ${SSE_HEADER} : aws:kms`,
    );
}

/** The operations s3rver lacks or gets wrong (see the header). */
function missingOperations(uploadsDir: (bucket: string) => string): KoaMiddleware {
  const auth = authentication();
  return async (ctx, next) => {
    const m = /^\/([^/]+)(\/.*)?$/.exec(ctx.path);
    if (!m || ctx.method === 'OPTIONS') return next();
    const bucket = decodeURIComponent(m[1]!);
    const rest = m[2] ?? '';
    const key = rest.length > 1 ? rest.slice(1).split('/').map(decodeURIComponent).join('/') : undefined;
    const q = ctx.query as Record<string, string | undefined>;
    const uploadId = q.uploadId;
    const op = writeOp(ctx);
    if (op && op !== 'PostObject') checkSse(op, sseHeaders(ctx));

    const signed = async (handler: () => Promise<void>) => {
      ctx.params = key === undefined ? { bucket } : { bucket, key };
      // SDK v3 signs bucket-level paths as "/bucket/"; s3rver's vhost branch builds exactly that.
      if (key === undefined && rest === '/') {
        ctx.state.vhost = true;
        ctx.mountPath = '/';
      }
      await auth(ctx, async () => {
        if (!(await ctx.app.store.getBucket(bucket)))
          throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
        await handler();
      });
    };
    // ListObjectsV2: s3rver makes its continuation tokens with DES, which Node 20's OpenSSL 3 no longer
    // offers, so every truncated listing fails (InternalError). Here the token is the last key, encoded.
    const listObjectsV2 = (query: Record<string, string | undefined>) =>
      signed(async () => {
        const maxKeys = query['max-keys'] === undefined ? 1000 : Math.min(1000, Number(query['max-keys']));
        if (!Number.isInteger(maxKeys) || maxKeys < 0)
          throw new S3Error('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647');
        const token = query['continuation-token'];
        const startAfter =
          token !== undefined ? Buffer.from(token, 'base64url').toString('utf8') : query['start-after'];
        const result = await ctx.app.store.listObjects(bucket, {
          prefix: query.prefix || undefined,
          delimiter: query.delimiter || undefined,
          startAfter,
          maxKeys,
        });
        const last = result.objects[result.objects.length - 1];
        ctx.body = {
          ListBucketResult: {
            '@': { xmlns: 'http://doc.s3.amazonaws.com/2006-03-01/' },
            Name: bucket,
            Prefix: query.prefix ?? '',
            StartAfter: token === undefined ? query['start-after'] : undefined,
            ContinuationToken: token,
            NextContinuationToken:
              result.isTruncated && last ? Buffer.from(last.key, 'utf8').toString('base64url') : undefined,
            KeyCount: result.objects.length,
            MaxKeys: maxKeys,
            Delimiter: query.delimiter || undefined,
            IsTruncated: Boolean(result.isTruncated),
            Contents: result.objects.map((o: any) => ({
              Key: o.key,
              LastModified: o.lastModifiedDate.toISOString(),
              ETag: o.metadata.etag,
              Size: o.size,
              StorageClass: 'STANDARD',
            })),
            CommonPrefixes: result.commonPrefixes.map((prefix: string) => ({ Prefix: prefix })),
          },
        };
      });
    const uploadDir = async () => {
      const dir = path.join(uploadsDir(bucket), uploadId ?? '');
      const storedKey =
        uploadId && /^[0-9a-f]+$/.test(uploadId)
          ? await readFile(path.join(dir, 'key'), 'utf8').catch(() => null)
          : null;
      if (storedKey === null || storedKey !== key) {
        throw new S3Error(
          'NoSuchUpload',
          'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
          { UploadId: uploadId ?? '' },
        );
      }
      return dir;
    };

    if (ctx.method === 'POST' && key === undefined && (rest === '' || rest === '/') && ctx.is('multipart/form-data'))
      return policyPost(ctx, bucket, next);
    if (ctx.method === 'HEAD' && key === undefined && Object.keys(q).length === 0) {
      return signed(async () => {
        ctx.body = '';
        ctx.status = 200;
      });
    }
    if (ctx.method === 'GET' && key === undefined && rest === '/' && q['list-type'] === '2') return listObjectsV2(q);
    if (key === undefined && rest === '/') {
      // Every other bucket-level request (ListObjectsV2, DeleteObjects: a recording's thumbnails) is s3rver's own,
      // with the same "/bucket/" fix to its signature check as `signed` applies.
      ctx.state.vhost = true;
      ctx.mountPath = '/';
      return next();
    }
    if (key === undefined || uploadId === undefined) return next();

    if (ctx.method === 'DELETE') {
      return signed(async () => {
        await rm(await uploadDir(), { recursive: true, force: true });
        ctx.body = '';
        ctx.status = 204;
      });
    }
    if (ctx.method === 'GET' && q.partNumber === undefined) {
      return signed(async () => {
        const parts = await storedParts(await uploadDir());
        ctx.body = {
          ListPartsResult: {
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MaxParts: 1000,
            IsTruncated: false,
            Part: parts.map((p) => ({
              PartNumber: p.number,
              ETag: `"${p.md5}"`,
              Size: p.size,
              LastModified: p.mtime.toISOString(),
            })),
          },
        };
      });
    }
    if (ctx.method === 'PUT' && q.partNumber !== undefined) {
      let checked = false;
      await signed(async () => {
        await uploadDir();
        const n = Number(q.partNumber);
        if (!Number.isInteger(n) || n < 1 || n > 10_000) {
          throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
            ArgumentName: 'partNumber',
            ArgumentValue: q.partNumber ?? '',
          });
        }
        checked = true;
      });
      if (checked) await next();
      return;
    }
    if (ctx.method === 'POST') {
      return signed(async () => {
        const dir = await uploadDir();
        const body = new XMLParser().parse(await readBody(ctx.req));
        const listed = ([] as any[]).concat(body?.CompleteMultipartUpload?.Part ?? []).map((p) => ({
          number: Number(p.PartNumber),
          etag: String(p.ETag).replace(/"/g, ''),
        }));
        if (listed.length === 0)
          throw new S3Error(
            'MalformedXML',
            'The XML you provided was not well-formed or did not validate against our published schema.',
          );
        const stored = new Map((await storedParts(dir)).map((p) => [p.number, p]));
        listed.forEach((p, i) => {
          if (i > 0 && p.number <= listed[i - 1]!.number)
            throw new S3Error(
              'InvalidPartOrder',
              'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
            );
          const s = stored.get(p.number);
          if (!s || s.md5 !== p.etag) {
            throw new S3Error(
              'InvalidPart',
              "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
              { PartNumber: p.number, ETag: p.etag },
            );
          }
          if (i < listed.length - 1 && s.size < MIN_PART_BYTES) {
            throw new S3Error(
              'EntityTooSmall',
              'Your proposed upload is smaller than the minimum allowed object size.',
              { ProposedSize: s.size, MinSizeAllowed: MIN_PART_BYTES, PartNumber: p.number },
            );
          }
        });
        const { md5 } = await ctx.app.store.putObjectMultipart(bucket, uploadId, listed);
        ctx.body = {
          CompleteMultipartUploadResult: {
            Location: ctx.href.split('?')[0],
            Bucket: bucket,
            Key: key,
            ETag: `"${md5}"`,
          },
        };
      });
    }
    return next();
  };
}

/**
 * POST Object with a policy (browser-based uploads), as S3 documents it: the
 * form's fields before the file, the policy's SigV4 signature (x-amz-signature
 * over the base64 policy with the signing key of x-amz-credential), its
 * expiration, and each condition: exact matches, "eq", "starts-with" and
 * "content-length-range" (EntityTooLarge / EntityTooSmall), every field but
 * policy, x-amz-signature, file and x-ignore-* covered by one. s3rver itself
 * ignores the policy. Once the form passes, the request's bytes (read so far
 * and the rest) go to s3rver's own POST Object; a body over the range is
 * refused as soon as it passes the limit, without reading it all.
 */
async function policyPost(ctx: any, bucket: string, next: () => Promise<void>): Promise<void> {
  const raw: Buffer[] = [];
  const parser = Busboy({ headers: ctx.headers });
  const fields: Record<string, string> = {};
  const failure = await new Promise<Error | null>((resolve) => {
    let settled = false;
    const done = (err: Error | null) => {
      if (settled) return;
      settled = true;
      ctx.req.unpipe(parser);
      ctx.req.off('data', keep);
      resolve(err);
    };
    const keep = (d: Buffer) => raw.push(d);
    ctx.req.on('data', keep);
    parser.on('field', (name: string, value: string) => {
      fields[name.toLowerCase()] = value;
    });
    parser.on('file', (name: string, file: NodeJS.ReadableStream) => {
      if (name !== 'file') return void file.resume();
      let range: [number, number];
      ctx.state.postKey = fields.key;
      ctx.state.sseFields = Object.fromEntries(Object.entries(fields).filter(([k]) => k.startsWith(SSE_HEADER)));
      try {
        range = checkPolicy(fields, bucket);
        checkSse('PostObject', ctx.state.sseFields);
      } catch (err) {
        file.resume();
        return done(err as Error);
      }
      let size = 0;
      file.on('data', (d: Buffer) => {
        size += d.length;
        if (size > range[1])
          done(
            new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
              MaxSizeAllowed: range[1],
            }),
          );
      });
      file.on('end', () => {
        if (size < range[0])
          done(
            new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
              MinSizeAllowed: range[0],
            }),
          );
        else done(null);
      });
    });
    parser.on('error', (err: Error) => done(new S3Error('MalformedPOSTRequest', err.message)));
    parser.on('close', () =>
      done(new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.')),
    );
    ctx.req.pipe(parser);
  });
  if (failure) {
    // The rest of the body is read and dropped, so that the client sees the answer.
    ctx.req.resume();
    throw failure;
  }
  const rest = ctx.req as NodeJS.ReadableStream;
  const body = Readable.from(
    (async function* () {
      yield* raw;
      for await (const chunk of rest) yield chunk as Buffer;
    })(),
  );
  // A client gone mid-body (a closed tab): the loop above rethrows the request's "aborted", and this stream
  // emits it. s3rver's reader sees the body end early; without a listener here it would also be thrown in the
  // test's process, as an uncaught exception.
  body.on('error', () => {});
  ctx.req = body as unknown as typeof ctx.req;
  return next();
}

/** Checks a POST form's policy and signature; answers its content-length-range ([0, 5 GiB] when it has none). */
function checkPolicy(fields: Record<string, string>, bucket: string): [number, number] {
  const denied = (why: string) => new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);
  if (!fields.policy || !fields['x-amz-signature']) throw new S3Error('AccessDenied', 'Access Denied');
  if (fields['x-amz-algorithm'] !== 'AWS4-HMAC-SHA256')
    throw new S3Error('InvalidArgument', 'Only AWS4-HMAC-SHA256 is supported here.');
  const [accessKey, day, region, service, term] = (fields['x-amz-credential'] ?? '').split('/');
  if (accessKey !== S3_ACCESS_KEY_ID || !day || !region || service !== 's3' || term !== 'aws4_request')
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const hmac = (k: string | Buffer, data: string) => createHmac('sha256', k).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${S3_SECRET_ACCESS_KEY}`, day), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', key).update(fields.policy).digest('hex');
  if (expected !== fields['x-amz-signature'])
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  let policy: { expiration?: string; conditions?: unknown[] };
  try {
    policy = JSON.parse(Buffer.from(fields.policy, 'base64').toString('utf8'));
  } catch {
    throw new S3Error('InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  }
  if (!policy.expiration || !(Date.parse(policy.expiration) > Date.now())) throw denied('Policy expired.');
  const values: Record<string, string> = { ...fields, bucket };
  const covered = new Set(['policy', 'x-amz-signature', 'file']);
  let range: [number, number] = [0, 5 * 1024 ** 3];
  for (const c of policy.conditions ?? []) {
    if (Array.isArray(c) && c[0] === 'content-length-range') {
      range = [Number(c[1]), Number(c[2])];
      continue;
    }
    const [op, name, want] = Array.isArray(c)
      ? [String(c[0]), String(c[1]).replace(/^\$/, '').toLowerCase(), String(c[2])]
      : ['eq', ...(Object.entries(c as Record<string, string>)[0] ?? ['', ''])].map(String);
    const field = name!.toLowerCase();
    const got = values[field] ?? '';
    if (op === 'eq' ? got !== want : op === 'starts-with' ? !got.startsWith(want!) : true)
      throw denied(`Policy Condition failed: ["${op}", "$${field}", "${want}"]`);
    covered.add(field);
  }
  for (const f of Object.keys(fields))
    if (!covered.has(f) && !f.startsWith('x-ignore-')) throw denied(`Extra input fields: ${f}`);
  return range;
}

async function storedParts(dir: string): Promise<{ number: number; md5: string; size: number; mtime: Date }[]> {
  const names = (await readdir(dir)).filter((n) => /^\d+$/.test(n));
  const parts = await Promise.all(
    names.map(async (n) => {
      const st = await stat(path.join(dir, n));
      return {
        number: Number(n),
        md5: (await readFile(path.join(dir, `${n}.md5`), 'utf8')).trim(),
        size: st.size,
        mtime: st.mtime,
      };
    }),
  );
  return parts.sort((a, b) => a.number - b.number);
}

async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
