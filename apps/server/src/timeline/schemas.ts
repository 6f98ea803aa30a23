/** Request shapes of the marker and thumbnail routes (docs/API.md "Markers and thumbnails", an extension). */
import { z } from 'zod';
import { MARKER_SOURCES } from '../db/schema.js';
import { pgText } from '../recordings/schemas.js';

/** Markers in one POST: the SDK sends what gathered since its last batch, a handful at most. */
export const MAX_MARKERS_PER_REQUEST = 100;
/** Markers kept per recording: one a second for a quarter of an hour, far more than anyone reads on a timeline. */
export const MAX_MARKERS_PER_RECORDING = 1000;
/** A marker's own details (JSON) as text: a file name or a command line, not a document. */
export const MAX_MARKER_DATA_BYTES = 2048;
/** A 160×90 JPEG is 3–8 KB; 64 KiB leaves room for a busy picture and nothing recording-sized. */
export const MAX_THUMBNAIL_BYTES = 64 * 1024;
/** Thumbnails kept per recording: every 10 s for more than 5 hours. */
export const MAX_THUMBNAILS_PER_RECORDING = 2000;

/** An offset in the recording: the columns are 32-bit integers (about 24 days). */
const offsetMs = z.number().int().min(0).max(2_147_483_647);

/** Whether JSON text holds the escape \\u<hex> itself, not an escaped backslash followed by "u<hex>". */
const escapeIn = (json: string, hex: string) => new RegExp(`(?<!\\\\)(?:\\\\\\\\)*\\\\u${hex}`, 'i').test(json);

/** JSON that fits in MAX_MARKER_DATA_BYTES once serialized, and that PostgreSQL's jsonb can hold (no NUL). */
const markerData = z.unknown().superRefine((v, ctx) => {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return;
  }
  if (text === undefined) return;
  if (Buffer.byteLength(text) > MAX_MARKER_DATA_BYTES)
    ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_MARKER_DATA_BYTES} bytes as JSON` });
  else if (escapeIn(text, '0000')) ctx.addIssue({ code: 'custom', message: 'must not contain the NUL character' });
  // JSON.stringify writes a lone surrogate (half of a UTF-16 pair) as a \udXXX escape, which jsonb refuses (a 500).
  else if (escapeIn(text, 'd[89a-f][0-9a-f]{2}'))
    ctx.addIssue({ code: 'custom', message: 'must not contain a lone UTF-16 surrogate' });
});

export const markersBody = z.strictObject({
  markers: z
    .array(
      z.strictObject({
        offsetMs,
        label: pgText(200),
        source: z.enum(MARKER_SOURCES).default('app'),
        data: markerData.optional(),
      }),
    )
    .min(1)
    .max(MAX_MARKERS_PER_REQUEST),
});

export const thumbnailParam = z.object({
  id: z.uuid({ message: 'id must be a recording UUID' }),
  // Canonical decimal only: a coercion would also take "1e3", "0x10", " 7" or "07" (one picture, many URLs).
  offsetMs: z
    .string()
    .regex(/^(0|[1-9]\d{0,9})$/, 'offsetMs must be a whole number of milliseconds')
    .transform(Number)
    .pipe(z.number().max(2_147_483_647, 'offsetMs must be a whole number of milliseconds')),
});
