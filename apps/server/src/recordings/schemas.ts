/** Request shapes of the recording routes (docs/API.md "5. Routes"). */
import { z } from 'zod';
import { RECORDING_STATUSES } from '../db/schema.js';

/**
 * Text that goes into a PostgreSQL text column or a query on one. PostgreSQL refuses the NUL character in
 * text (it would be a 500 from the database), so it is refused here as a 400 naming the field.
 */
export const pgText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain the NUL character (\\u0000)');

export const idParam = z.object({ id: z.uuid({ message: 'id must be a recording UUID' }) });

export const createBody = z.object({
  sessionId: pgText(256),
  mimeType: z
    .string()
    .max(200)
    .regex(/^video\/(webm|mp4)(\s*;\s*codecs="?[\w.,\s-]+"?)?$/i, 'mimeType must be a video/webm or video/mp4 type'),
});

export const listQuery = z.object({
  sessionId: pgText(256).optional(),
  status: z.enum(RECORDING_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

export const partBody = z.object({
  partNumber: z.number().int().min(1),
  sizeBytes: z.number().int().min(1),
});

export const completeBody = z.object({
  // The column is a 32-bit integer: about 24 days, far beyond any size limit's worth of video.
  durationMs: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1), etag: pgText(200) }))
    .min(1)
    .max(10_000),
});

export const failBody = z.object({ reason: pgText(2000) });
