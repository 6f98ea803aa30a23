/** Request shapes of the recording routes (docs/API.md "5. Routes"). */
import { z } from 'zod';
import { RECORDING_STATUSES } from '../db/schema.js';
import { LIST_ORDERS, LIST_SORTS } from './cursor.js';

/**
 * Text that goes into a PostgreSQL text column or a query on one. PostgreSQL refuses the NUL character in
 * text (it would be a 500 from the database), so it is refused here as a 400 naming the field.
 */
export const pgText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain the NUL character (\\u0000)')
    // A lone UTF-16 surrogate (half a pair) has no UTF-8 form: the driver would store U+FFFD in its place.
    .refine((v) => !/\p{Cs}/u.test(v), 'must not contain a lone UTF-16 surrogate');

export const idParam = z.object({ id: z.uuid({ message: 'id must be a recording UUID' }) });

export const createBody = z.object({
  sessionId: pgText(256),
  mimeType: z
    .string()
    .max(200)
    .regex(/^video\/(webm|mp4)(\s*;\s*codecs="?[\w.,\s-]+"?)?$/i, 'mimeType must be a video/webm or video/mp4 type'),
});

/**
 * An instant in a query: ISO 8601 with seconds and a zone (`Z` or `+01:00`), parsed to a Date. Years 1970–9999
 * only: PostgreSQL's timestamp cannot take every year a JavaScript Date can (an error, then a 500).
 */
export const instant = (name: string) =>
  z.iso
    .datetime({
      offset: true,
      message: `${name} must be an ISO 8601 date and time with a zone, e.g. 2026-01-31T09:00:00Z`,
    })
    .transform((v) => new Date(v))
    .refine(
      (d) => d.getUTCFullYear() >= 1970 && d.getUTCFullYear() <= 9999,
      `${name} must be in the years 1970 to 9999`,
    );

export const listQuery = z.object({
  sessionId: pgText(256).optional(),
  status: z.enum(RECORDING_STATUSES).optional(),
  /** createdAt ≥ from (inclusive). */
  from: instant('from').optional(),
  /** createdAt < to (exclusive): adjacent ranges never share a recording. */
  to: instant('to').optional(),
  /** `created` (default): from/to bound the start; `overlap`: any moment of the recording falls in [from, to). */
  range: z.enum(['created', 'overlap']).optional(),
  sort: z.enum(LIST_SORTS).default('created'),
  order: z.enum(LIST_ORDERS).default('desc'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(300).optional(),
  /** `true`: the answer also holds how many recordings match, counted up to LIST_COUNT_CAP. */
  count: z.enum(['true', 'false']).optional(),
});

export const partBody = z.object({
  partNumber: z.number().int().min(1),
  sizeBytes: z.number().int().min(1),
});

export const tailBody = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  firstSeq: z.number().int().min(0).max(10_000),
  maxLagMs: z.number().int().min(1000).max(60_000).optional(),
});

export const completeBody = z.object({
  // The column is a 32-bit integer: about 24 days, far beyond any size limit's worth of video.
  durationMs: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1), etag: pgText(200) }))
    .min(1)
    .max(10_000),
  /** Why the client completes it (extension): it reached the size limit. Default stop. */
  endedBy: z.enum(['stop', 'size_limit']).optional(),
});

export const failBody = z.object({ reason: pgText(2000) });
