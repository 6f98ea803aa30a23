/**
 * Routes of a recording's timeline (docs/API.md "Markers and thumbnails", an
 * extension): markers and thumbnails under /api/recordings/:id (bearer), and
 * /api/thumbnails/:token/:offsetMs, where an <img> loads a thumbnail with the
 * signed URL the index handed out. Adding is the owner's (like parts);
 * reading is the owner's or an admin's (like downloads).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Readable } from 'node:stream';
import type { ThumbnailIndex } from '@sortie/contract';
import type { AuthEnv } from '../auth/middleware.js';
import type { RecordingRow } from '../db/schema.js';
import { DomainError, badRequest, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { signToken, verifyToken } from '../lib/signed-token.js';
import { validate } from '../lib/validate.js';
import type { Identity } from '../auth/identity.js';
import type { ForeignRead } from '../recordings/routes.js';
import type { RecordingsService } from '../recordings/service.js';
import { idParam } from '../recordings/schemas.js';
import { MAX_THUMBNAIL_BYTES, markersBody, thumbnailParam } from './schemas.js';
import type { TimelineService } from './service.js';

export interface TimelineRoutesDeps {
  recordings: RecordingsService;
  timeline: TimelineService;
  clock: Clock;
  signingKey: string;
  /** SORTIE_PUBLIC_URL, or null to derive the origin from the request. */
  publicUrl: string | null;
  /** The audit trail's hook for an admin reading someone else's thumbnails (recordings/routes.ts). */
  onForeignRead?: (user: Identity, row: RecordingRow, how: ForeignRead) => Promise<void>;
}

/** How long the thumbnail URLs of an index stay valid: a long viewing; the player asks again when they expire. */
export const THUMBNAIL_URL_TTL_SECONDS = 60 * 60;

const thumbnailLimit = bodyLimit({
  maxSize: MAX_THUMBNAIL_BYTES,
  onError: () => {
    throw new DomainError('payload_too_large', `A thumbnail is at most ${MAX_THUMBNAIL_BYTES} bytes.`);
  },
});

/** Streams one stored thumbnail (at most MAX_THUMBNAIL_BYTES; never read whole here). */
async function serveThumbnail(c: Context, timeline: TimelineService, row: RecordingRow, offsetMs: number) {
  const { body, sizeBytes } = await timeline.openThumbnail(row, offsetMs);
  return new Response(Readable.toWeb(body) as ReadableStream, {
    status: 200,
    headers: {
      'Content-Type': 'image/jpeg',
      'Content-Length': String(sizeBytes),
      // A thumbnail at an offset is only ever replaced by the SDK while recording; an hour's cache is harmless.
      'Cache-Control': 'private, max-age=3600',
    },
  });
}

/** Mounted at /api/recordings, behind bearerAuth. */
export function timelineRoutes(deps: TimelineRoutesDeps) {
  const { recordings, timeline } = deps;
  const app = new Hono<AuthEnv>();

  app.post('/:id/markers', validate('param', idParam), validate('json', markersBody), async (c) => {
    const row = await recordings.getRow(c.get('user'), c.req.valid('param').id, 'own');
    const count = await timeline.addMarkers(row, c.req.valid('json').markers);
    return c.json({ count }, 201);
  });

  app.get('/:id/markers', validate('param', idParam), async (c) => {
    const row = await recordings.getRow(c.get('user'), c.req.valid('param').id, 'read');
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'markers');
    return c.json({ items: await timeline.listMarkers(row) });
  });

  app.put('/:id/thumbnails/:offsetMs', thumbnailLimit, validate('param', thumbnailParam), async (c) => {
    const { id, offsetMs } = c.req.valid('param');
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'image/jpeg') throw badRequest('A thumbnail is sent as Content-Type: image/jpeg.');
    const row = await recordings.getRow(c.get('user'), id, 'own');
    // At most MAX_THUMBNAIL_BYTES, enforced by thumbnailLimit while the body is read.
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    await timeline.putThumbnail(row, offsetMs, bytes);
    return c.body(null, 204);
  });

  app.get('/:id/thumbnails', validate('param', idParam), async (c) => {
    const row = await recordings.getRow(c.get('user'), c.req.valid('param').id, 'read');
    // Thumbnails are pictures of the recorded screen: content, audited like a download. The index hands out
    // their signed URLs, so it is where an admin's viewing of them is recorded (the URLs' own fetches are not).
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'thumbnails');
    const expiresAt = new Date(deps.clock.now().getTime() + THUMBNAIL_URL_TTL_SECONDS * 1000);
    const token = await signToken(deps.signingKey, { typ: 'thumbs', rid: row.id }, expiresAt);
    const base = `${deps.publicUrl ?? new URL(c.req.url).origin}/api/thumbnails/${token}`;
    const offsets = await timeline.thumbnailOffsets(row);
    return c.json({
      items: offsets.map((offsetMs) => ({ offsetMs, url: `${base}/${offsetMs}` })),
      expiresAt: expiresAt.toISOString(),
    } satisfies ThumbnailIndex);
  });

  app.get('/:id/thumbnails/:offsetMs', validate('param', thumbnailParam), async (c) => {
    const { id, offsetMs } = c.req.valid('param');
    const row = await recordings.getRow(c.get('user'), id, 'read');
    if (row.userId !== c.get('user').id) await deps.onForeignRead?.(c.get('user'), row, 'thumbnails');
    return serveThumbnail(c, timeline, row, offsetMs);
  });

  return app;
}

/** GET /api/thumbnails/:token/:offsetMs: the URL is the credential (an <img> sends no bearer header). */
export function thumbnailFileRoutes(deps: TimelineRoutesDeps) {
  const app = new Hono();
  app.get('/thumbnails/:token/:offsetMs', async (c) => {
    const claims = await verifyToken(deps.signingKey, c.req.param('token'), 'thumbs');
    if (!claims) throw new DomainError('unauthorized', 'This thumbnail URL is invalid or has expired.');
    const parsed = thumbnailParam.safeParse({ id: claims.rid, offsetMs: c.req.param('offsetMs') });
    if (!parsed.success) throw badRequest('offsetMs must be a whole number of milliseconds.');
    const row = await deps.recordings.rowById(claims.rid);
    if (!row) throw notFound();
    return serveThumbnail(c, deps.timeline, row, parsed.data.offsetMs);
  });
  return app;
}
