/** Request shapes of the admin routes (docs/API.md "5. Routes"). */
import type { HoldBody } from '@sortie/contract';
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../audit/service.js';
import { instant, listQuery, pgText } from '../recordings/schemas.js';

export const adminListQuery = listQuery.extend({
  userId: pgText(256).optional(),
  /** (extension) Text in a marker's label. */
  marker: pgText(200).optional(),
  /** (extension) Only recordings whose row changed at or after this instant (the live list's poll). */
  updatedSince: instant('updatedSince').optional(),
  /** (extension) A case-insensitive prefix of the user's id or name. */
  user: pgText(256).optional(),
  /** (extension) A case-insensitive prefix of the session id. */
  session: pgText(256).optional(),
  /** (extension) Only held recordings (true) or only those not held (false). */
  held: z.enum(['true', 'false']).optional(),
});

/** PUT /api/admin/recordings/:id/hold: place a legal hold (with its reason) or release it. */
export const holdBody = z.discriminatedUnion('hold', [
  z.strictObject({
    hold: z.literal(true),
    reason: pgText(500).refine((s) => s.trim().length > 0, 'reason must not be blank'),
  }),
  z.strictObject({ hold: z.literal(false), reason: pgText(500).optional() }),
]) satisfies z.ZodType<HoldBody>;

/** Most ids one bulk delete takes: a page of the list at its largest. */
export const BULK_DELETE_MAX = 200;

export const bulkDeleteBody = z.strictObject({
  ids: z
    // Lower-cased: PostgreSQL reads a UUID in either case, so A… and a… name one recording (deleted and audited once).
    .array(z.uuid({ message: 'every id must be a recording UUID' }).transform((id) => id.toLowerCase()))
    .min(1, 'ids must name at least one recording')
    .max(BULK_DELETE_MAX, `ids may name at most ${BULK_DELETE_MAX} recordings at once`)
    .refine((ids) => new Set(ids).size === ids.length, 'ids must not repeat a recording'),
});

export const overviewQuery = z.object({
  /** UTC days back from today, today included. */
  days: z.coerce.number().int().min(1).max(366).default(30),
});

export const settingsBody = z.strictObject({ autoRecord: z.boolean() });

export const auditQuery = z.object({
  action: z.enum(AUDIT_ACTIONS).optional(),
  recordingId: z.uuid({ message: 'recordingId must be a recording UUID' }).optional(),
  actorId: pgText(256).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

/** GET /api/admin/audit/export: the chained entries written in [from, to); either bound may be left out. */
export const auditExportQuery = z.object({
  from: instant('from').optional(),
  to: instant('to').optional(),
});
