/**
 * Guards every response and request body of the app:
 * security headers through Hono's secureHeaders, and a size limit on every
 * body the service might read whole (JSON), so that no route buffers a huge
 * body — only part uploads stream, under their own limits.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';

/**
 * The largest body read whole. The largest legitimate one is complete's part
 * list: 10 000 entries of a part number and an ETag (about 60 bytes each, up to
 * about 250 with 200-character ETags), so 2 MiB leaves room and nothing more.
 */
export const JSON_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/** Part bodies stream to storage through these routes, with the part's own size as their limit. */
export const isPartUpload = (method: string, path: string) => method === 'PUT' && path.startsWith('/api/uploads/');

/**
 * (extension) A thumbnail PUT has its own, smaller limit (timeline/routes.ts, 64 KiB). This limit reads a chunked
 * body whole before the route runs, so in front of it a thumbnail would be buffered up to 2 MiB, not 64 KiB.
 */
const isThumbnailUpload = (method: string, path: string) =>
  method === 'PUT' && /^\/api\/recordings\/[^/]+\/thumbnails\/[^/]+$/.test(path);

/**
 * Hono's bodyLimit, answering from the Content-Length header alone when there is
 * one. Hono's does the same, but first asks for the request's web body stream,
 * which makes @hono/node-server build a whole fetch Request around the node
 * request (an AbortController, a ReadableStream): about 0.3 ms of CPU on every
 * request in bench:load's profile, for a check that needs one header. Chunked
 * bodies (and bodies of requests built without the header, as app.request's)
 * go through Hono's, which counts them as they arrive.
 */
export function declaredBodyLimit(options: Parameters<typeof bodyLimit>[0]): MiddlewareHandler {
  const limit = bodyLimit(options);
  return (c, next) => {
    const method = c.req.method;
    // These carry no body a route reads.
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const headers = c.req.raw.headers;
    if (headers.has('transfer-encoding')) return limit(c, next);
    const length = headers.get('content-length');
    if (length === null || !/^\d+$/.test(length) || Number(length) > options.maxSize) return limit(c, next);
    return next();
  };
}

/**
 * 413 as soon as a body is known to be too long: at once from Content-Length
 * (the body is not read), or while reading a chunked one — never after
 * buffering it. Routes that read no body never read one, whatever its size.
 */
export function jsonBodyLimit(): MiddlewareHandler {
  const limit = declaredBodyLimit({
    maxSize: JSON_BODY_LIMIT_BYTES,
    onError: () => {
      throw new DomainError('payload_too_large', `The request body is over ${JSON_BODY_LIMIT_BYTES / 1048576} MiB.`);
    },
  });
  return (c, next) =>
    isPartUpload(c.req.method, c.req.path) || isThumbnailUpload(c.req.method, c.req.path) ? next() : limit(c, next);
}

/** Where the pages' scripts may send and play recordings: the bucket for the S3 backend, the service otherwise. */
function storageOrigins(config: Config): string[] {
  if (config.storageBackend !== 's3') return [];
  // A custom endpoint (MinIO…) is path-style on that origin; AWS is virtual-hosted under amazonaws.com.
  return [config.s3.endpoint ? new URL(config.s3.endpoint).origin : 'https://*.amazonaws.com'];
}

/**
 * Security headers. The pages (apps/web, served at / and /admin) get a CSP that
 * allows only their own scripts, the service (and SORTIE_PUBLIC_URL, when the
 * pages are reached under another name) and the bucket; the shadow DOM of the
 * record button carries an inline <style>, hence style-src 'unsafe-inline'
 * (styles cannot run code). API answers — downloads included — get a CSP that
 * allows nothing and sandboxes whatever a browser might render, so a file
 * opened directly can never run script on this origin.
 *
 * Strict-Transport-Security is left to whoever terminates TLS (the ingress):
 * the service itself speaks plain HTTP behind it. Cross-Origin-Resource-Policy
 * is cross-origin on /api/files: a session frontend on another origin plays a
 * recording with <video src> from a download URL, which is a capability of its
 * own (anyone holding the URL may fetch it).
 */
export function securityHeaders(config: Config): MiddlewareHandler {
  const services = ["'self'", ...(config.publicUrl ? [new URL(config.publicUrl).origin] : [])];
  const storage = storageOrigins(config);
  const common = { strictTransportSecurity: false, referrerPolicy: 'no-referrer', xContentTypeOptions: true } as const;
  const pages = secureHeaders({
    ...common,
    xFrameOptions: 'SAMEORIGIN',
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      // The SDK's compositor paces frames from a Blob-URL Worker (a timer a hidden tab does not throttle).
      workerSrc: ["'self'", 'blob:'],
      mediaSrc: [...services, 'blob:', ...storage],
      connectSrc: [...services, ...storage],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'self'"],
    },
  });
  const api = (crossOriginResourcePolicy: 'same-origin' | 'cross-origin') =>
    secureHeaders({
      ...common,
      xFrameOptions: 'DENY',
      crossOriginResourcePolicy,
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], sandbox: [] },
    });
  const apiSameOrigin = api('same-origin');
  const apiFiles = api('cross-origin');
  return (c, next) => {
    const p = c.req.path;
    if (p.startsWith('/api/files/')) return apiFiles(c, next);
    if (p.startsWith('/api/') || p === '/metrics' || p === '/healthz' || p === '/readyz') return apiSameOrigin(c, next);
    return pages(c, next);
  };
}
