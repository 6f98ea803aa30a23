/** Request shapes of the recording routes (API.md §5). */
import { z } from 'zod';
import { RECORDING_STATUSES } from '../db/schema.js';

export const idParam = z.object({ id: z.uuid({ message: 'id must be a recording UUID' }) });

export const createBody = z.object({
  sessionId: z.string().min(1).max(256),
  mimeType: z
    .string()
    .max(200)
    .regex(/^video\/(webm|mp4)(\s*;\s*codecs="?[\w.,\s-]+"?)?$/i, 'mimeType must be a video/webm or video/mp4 type'),
});

export const listQuery = z.object({
  sessionId: z.string().min(1).max(256).optional(),
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
    .array(z.object({ partNumber: z.number().int().min(1), etag: z.string().min(1).max(200) }))
    .min(1)
    .max(10_000),
});

export const failBody = z.object({ reason: z.string().min(1).max(2000) });
