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
 * Everything else (CreateMultipartUpload, UploadPart, GetObject with Range and
 * response-content-disposition, HeadObject, DeleteObject, PutObject, and the
 * bucket-level ListObjectsV2 and DeleteObjects with the HeadBucket signature fix)
 * is s3rver's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
const { XMLParser } = fromS3rver('fast-xml-parser') as { XMLParser: new () => { parse(xml: string): any } };

type KoaMiddleware = (ctx: any, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: {
    getBucket(name: string): Promise<unknown>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
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
  const uploadsDir = (b: string) => server.store.getResourcePath(b, undefined, 'uploads');
  // After s3rver's logger, XML encoder, mount and vhost middleware; before its router.
  server.middleware.splice(server.middleware.length - 1, 0, missingOperations(uploadsDir));
  server.middleware.unshift(async (ctx, next) => {
    requests.push(`${ctx.method} ${ctx.url}`);
    await next();
  });
  const { port } = await server.run();
  // A test file's worker must be free to exit with the server still open.
  server.httpServer?.unref();
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    directory,
    requests,
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

    if (ctx.method === 'HEAD' && key === undefined && Object.keys(q).length === 0) {
      return signed(async () => {
        ctx.body = '';
        ctx.status = 200;
      });
    }
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
