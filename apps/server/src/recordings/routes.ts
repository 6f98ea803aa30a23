/**
 * HTTP face of the recordings service. Routes validate and authorize, then
 * call the service; they never touch storage or SQL themselves.
 */
import { Readable } from 'node:stream';
import type {
  CreatedRecording,
  DownloadUrl,
  Page,
  PartTarget,
  Recording,
  RecordingConfig,
  TailTargets,
} from '@sortie/contract';
import { Hono, type Context } from 'hono';
import type { Identity } from '../auth/identity.js';
import type { AuthEnv } from '../auth/middleware.js';
import { DomainError, badRequest, notFound } from '../errors.js';
import { parseRange } from '../lib/range.js';
import { signToken, verifyToken } from '../lib/signed-token.js';
import { validate } from '../lib/validate.js';
import type { SettingsService } from '../settings/service.js';
import { DOWNLOAD_URL_TTL_SECONDS } from './downloads.js';
import { downloadFilename, toResource } from './resource.js';
import type { RecordingsService } from './service.js';
import { completeBody, createBody, failBody, idParam, listQuery, partBody, tailBody } from './schemas.js';
import type { RecordingRow } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';

export interface RecordingRoutesDeps {
  service: RecordingsService;
  settings: SettingsService;
  clock: Clock;
  signingKey: string;
  /** SORTIE_PUBLIC_URL, or null to derive the origin from the request. */
  publicUrl: string | null;
  /** The SDK's capture defaults (SORTIE_RECORDING_FRAME_RATE, SORTIE_RECORDING_VIDEO_BITRATE_KBPS), handed out by /config. */
  capture?: { frameRate: number; videoBitsPerSecond: number };
  /** Called after someone deletes a recording they do not own (an admin): the audit trail's hook. */
  onForeignDelete?: (user: Identity, row: RecordingRow) => Promise<void>;
  /**
   * Called on every read of a recording by someone who does not own it (an admin or an auditor): each download
   * request (range reads included), each download URL, each thumbnail read; and its metadata, seal and markers,
   * which the trail records for auditors only (app.ts). The audit trail coalesces them (app.ts).
   */
  onForeignRead?: (user: Identity, row: RecordingRow, how: ForeignRead) => Promise<void>;
  /** Called when a beacon ended a recording: finalize it from what is stored, soon (the sweeper's settleSoon). */
  onEndRequested?: (recordingId: string) => void;
}

/**
 * What of someone else's recording was read: the file, a URL to it, its thumbnails (pictures of its content),
 * or (audited for auditors) its metadata, its seal or its markers.
 */
export type ForeignRead = 'download' | 'download_url' | 'thumbnails' | 'view' | 'seal' | 'markers';

/**
 * How long a recording's end URL stays valid. Longer than any session: it is
 * handed out at create and used when the page goes away, maybe hours later.
 */
export const END_URL_TTL_SECONDS = 7 * 24 * 60 * 60;

export { DOWNLOAD_URL_TTL_SECONDS };

export function origin(c: Context, publicUrl: string | null): string {
  return publicUrl ?? new URL(c.req.url).origin;
}

/** Bearer-authenticated routes under /api/recordings. */
export function recordingRoutes(deps: RecordingRoutesDeps) {
  const { service, settings, clock } = deps;
  const { queries, parts } = service;
  const app = new Hono<AuthEnv>();

  app.get('/config', async (c) => {
    const s = await settings.get();
    return c.json({
      enabled: true,
      autoRecord: s.autoRecord,
      ...service.uploadConfig(),
      ...deps.capture,
    } satisfies RecordingConfig);
  });

  app.post('/', validate('json', createBody), async (c) => {
    const row = await parts.createRow(c.get('user'), c.req.valid('json'));
    // A capability to end this recording only, for navigator.sendBeacon (no Authorization header).
    const token = await signToken(
      deps.signingKey,
      { typ: 'end', rid: row.id },
      new Date(clock.now().getTime() + END_URL_TTL_SECONDS * 1000),
    );
    const base = origin(c, deps.publicUrl);
    const partsUrl = await parts.partsUrl(row, base);
    return c.json(
      {
        ...toResource(row),
        endUrl: `${base}/api/ends/${token}`,
        ...(partsUrl ? { partsUrl } : {}),
      } satisfies CreatedRecording,
      201,
    );
  });

  app.get('/', validate('query', listQuery), async (c) => {
    const q = c.req.valid('query');
    return c.json((await queries.list({ ...q, userId: c.get('user').id })) satisfies Page<Recording>);
  });

  app.get('/:id', validate('param', idParam), async (c) => {
    const user = c.get('user');
    const row = await service.getRow(user, c.req.valid('param').id, 'read');
    if (row.userId !== user.id) await deps.onForeignRead?.(user, row, 'view');
    return c.json(toResource(row) satisfies Recording);
  });

  app.post('/:id/parts', validate('param', idParam), validate('json', partBody), async (c) => {
    const { id } = c.req.valid('param');
    const { partNumber, sizeBytes } = c.req.valid('json');
    await refuseAuditorWrite(service, c.get('user'), id);
    const { target, expiresAt, partsUrl } = await parts.requestPart(
      c.get('user'),
      id,
      partNumber,
      sizeBytes,
      origin(c, deps.publicUrl),
    );
    return c.json({
      partNumber,
      url: target.url,
      method: 'PUT',
      headers: target.headers,
      expiresAt: expiresAt.toISOString(),
      ...(partsUrl ? { partsUrl } : {}),
    } satisfies PartTarget);
  });

  // Extension (docs/bounded-loss.md): presigned URLs for the tail objects of a backend with a part floor (S3).
  app.post('/:id/tails', validate('param', idParam), validate('json', tailBody), async (c) => {
    await refuseAuditorWrite(service, c.get('user'), c.req.valid('param').id);
    return c.json(
      (await parts.requestTails(c.get('user'), c.req.valid('param').id, c.req.valid('json'))) satisfies TailTargets,
    );
  });

  endRoutes(app, deps);
  readRoutes(app, deps);
  return app;
}

/**
 * Parts and tails check the owner inside their one-round-trip statement and answer 404 to anyone else. An
 * auditor sees every recording, so for them the refusal of a write to someone else's is said as such (403,
 * from getRow); the extra read is paid by auditors only, never on a recorder's hot path.
 */
async function refuseAuditorWrite(service: RecordingsService, user: Identity, id: string): Promise<void> {
  if (user.isAuditor) await service.getRow(user, id, 'own').catch(rethrowForbidden);
}

/** Only the 403 matters here: a missing recording is answered by the write itself, as it always was. */
function rethrowForbidden(err: unknown): void {
  if (err instanceof DomainError && err.code === 'forbidden') throw err;
}

/** Stop, complete and fail: the ways an upload ends, by its owner. */
function endRoutes(app: Hono<AuthEnv>, deps: RecordingRoutesDeps): void {
  const { finalizer, lifecycle } = deps.service;
  app.post('/:id/stop', validate('param', idParam), async (c) => {
    return c.json(await lifecycle.stop(c.get('user'), c.req.valid('param').id));
  });

  app.post('/:id/complete', validate('param', idParam), validate('json', completeBody), async (c) => {
    const body = c.req.valid('json');
    return c.json(
      await finalizer.complete(c.get('user'), c.req.valid('param').id, {
        durationMs: body.durationMs ?? null,
        parts: body.parts,
        endedBy: body.endedBy,
      }),
    );
  });

  app.post('/:id/fail', validate('param', idParam), validate('json', failBody), async (c) => {
    return c.json(await lifecycle.fail(c.get('user'), c.req.valid('param').id, c.req.valid('json').reason));
  });
}

/** Downloads and delete: of the user's own recordings, or by an admin of anyone's (audited through the hooks). */
function readRoutes(app: Hono<AuthEnv>, deps: RecordingRoutesDeps): void {
  const { service, clock } = deps;
  const { queries, lifecycle, downloads } = service;
  app.get('/:id/download', validate('param', idParam), async (c) => {
    const { row, presigned } = await downloads.readyForDownload(c.get('user'), c.req.valid('param').id);
    // Every request counts, whatever its Range (bytes=1- is the file but one byte); the trail coalesces a
    // viewing's many range requests into one entry.
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'download');
    if (presigned) return c.redirect(presigned, 302);
    return serveFile(c, service, row);
  });

  app.post('/:id/download-url', validate('param', idParam), async (c) => {
    const { row, presigned } = await downloads.readyForDownload(c.get('user'), c.req.valid('param').id);
    const expiresAt = new Date(clock.now().getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000);
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'download_url');
    const url =
      presigned ??
      `${origin(c, deps.publicUrl)}/api/files/${await signToken(deps.signingKey, { typ: 'file', rid: row.id }, expiresAt)}`;
    return c.json({ url, expiresAt: expiresAt.toISOString() } satisfies DownloadUrl);
  });

  app.delete('/:id', validate('param', idParam), async (c) => {
    const user = c.get('user');
    const row = await queries.getRow(user, c.req.valid('param').id, 'delete');
    // A concurrent delete that removed the row first wins: this one answers as if it came after (404).
    if (!(await lifecycle.deleteRow(row))) throw notFound();
    if (row.userId !== user.id) await deps.onForeignDelete?.(user, row);
    return c.body(null, 204);
  });
}

/**
 * Routes authorized by a signed token in the URL instead of a bearer header:
 * the local part PUT (/api/uploads/:token) and header-less downloads
 * (/api/files/:token) for <a href> and <video src>.
 */
export function transferRoutes(deps: RecordingRoutesDeps) {
  const { service } = deps;
  const { parts } = service;
  const app = new Hono<{ Bindings: { incoming?: import('node:http').IncomingMessage } }>();

  // Only backends that receive part bodies themselves (local disk) have this route.
  app.put('/uploads/:token', async (c) => {
    const claims = await parts.verifyPartUrl(c.req.param('token'));
    if (!claims) throw new DomainError('unauthorized', 'This upload URL is invalid or has expired; request a new one.');
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      const n = Number(declared);
      if (n > claims.sizeBytes)
        throw new DomainError(
          'payload_too_large',
          `The body is longer than the ${claims.sizeBytes} bytes this URL was issued for.`,
        );
      if (n < claims.sizeBytes)
        throw badRequest(`This URL takes exactly ${claims.sizeBytes} bytes; the body has ${n}.`);
    }
    return receiveBody(c, (body) =>
      parts.acceptPart(claims.recordingId, claims.partNumber, claims.sizeBytes, body, claims),
    );
  });

  /**
   * (extension) A part in one request, through the recording's parts URL (CreatedRecording.partsUrl):
   * the reservation POST /parts makes, for the Content-Length's size, then the bytes.
   */
  app.put('/uploads/:token/:partNumber', async (c) => {
    const claims = await parts.verifyPartsUrl(c.req.param('token'));
    if (!claims) throw new DomainError('unauthorized', 'This upload URL is invalid or has expired; request a new one.');
    const pn = c.req.param('partNumber');
    const partNumber = /^[1-9][0-9]{0,8}$/.test(pn) ? Number(pn) : 0;
    if (partNumber < 1 || partNumber > parts.maxParts)
      throw badRequest(`The part number must be an integer from 1 to ${parts.maxParts}.`);
    const declared = c.req.header('content-length');
    if (declared === undefined || !/^[0-9]{1,15}$/.test(declared))
      throw badRequest('A part sent to the parts URL needs a Content-Length header: the part size it reserves.');
    const sizeBytes = Number(declared);
    if (sizeBytes < 1) throw badRequest('A part has at least 1 byte.');
    return receiveBody(c, (body) => parts.receivePart(claims, partNumber, sizeBytes, body));
  });

  /**
   * The end of a recording whose page went away (navigator.sendBeacon on
   * pagehide): no bearer token, so the URL itself is the capability, scoped to
   * ending this one recording. Any body is ignored (a beacon always sends one).
   * 202: it is finalized from what is stored within seconds, once its last
   * part in flight has landed. Ending an ended recording is harmless (202).
   */
  app.post('/ends/:token', async (c) => {
    const claims = await verifyToken(deps.signingKey, c.req.param('token'), 'end');
    if (!claims) throw new DomainError('unauthorized', 'This end URL is invalid or has expired.');
    const row = await service.queries.rowById(claims.rid);
    if (!row) throw notFound();
    if (await service.lifecycle.requestEnd(row.id)) deps.onEndRequested?.(row.id);
    return c.json({ id: row.id, status: 'ending' }, 202);
  });

  app.on(['GET', 'HEAD'], '/files/:token', async (c) => {
    const claims = await verifyToken(deps.signingKey, c.req.param('token'), 'file');
    if (!claims)
      throw new DomainError('unauthorized', 'This download URL is invalid or has expired; request a new one.');
    const row = await service.queries.rowById(claims.rid);
    if (!row) throw notFound();
    return serveFile(c, service, row);
  });

  return app;
}

/**
 * Hands a part PUT's body to `accept` and answers 200 with the ETag. When the answer
 * comes before the whole body was read (refused up front, or failed midway), the
 * connection is closed rather than the rest read, except on a full disk.
 */
async function receiveBody(
  c: Context<{ Bindings: { incoming?: import('node:http').IncomingMessage } }>,
  accept: (body: Readable) => Promise<{ etag: string }>,
): Promise<Response> {
  // The Node request itself is the fastest stream of the body; app.request() in tests has only the web stream.
  const body = c.env?.incoming ?? (c.req.raw.body ? Readable.fromWeb(c.req.raw.body as never) : Readable.from([]));
  try {
    const { etag } = await accept(body);
    c.header('ETag', etag);
    return c.body(null, 200);
  } catch (err) {
    if (!body.readableEnded && !body.destroyed) {
      // A full disk is no fault of the client's: read the rest of the body away so the
      // connection stays open for the retry. Any other early answer (too long, too slow)
      // ends the connection instead of reading what the client may still send.
      if (err instanceof DomainError && err.code === 'insufficient_storage') body.resume();
      else c.header('Connection', 'close');
    }
    throw err;
  }
}

/** Streams a ready recording with Range support (206 / 416), never buffering it. */
async function serveFile(c: Context, service: RecordingsService, row: RecordingRow): Promise<Response> {
  const { downloads } = service;
  if (row.status !== 'ready')
    throw new DomainError('conflict', `Recording is ${row.status}; only a ready recording can be downloaded.`);
  const size = row.sizeBytes;
  const headers: Record<string, string> = {
    'Content-Type': row.mimeType.split(';')[0]!,
    'Accept-Ranges': 'bytes',
    'Content-Disposition': `attachment; filename="${downloadFilename(row)}"`,
    'Cache-Control': 'private, no-store',
  };
  const range = parseRange(c.req.header('range'), size);
  if (range.kind === 'unsatisfiable') {
    return new Response(
      JSON.stringify({ error: { code: 'invalid_request', message: 'The requested range is outside the file.' } }),
      {
        status: 416,
        headers: { 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json' },
      },
    );
  }
  const isHead = c.req.method === 'HEAD';
  if (range.kind === 'range') {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['Content-Length'] = String(range.end - range.start + 1);
    const stream = isHead ? null : await downloads.open(row, { start: range.start, end: range.end });
    return new Response(stream ? (Readable.toWeb(stream) as ReadableStream) : null, { status: 206, headers });
  }
  headers['Content-Length'] = String(size);
  const stream = isHead ? null : await downloads.open(row);
  return new Response(stream ? (Readable.toWeb(stream) as ReadableStream) : null, { status: 200, headers });
}
