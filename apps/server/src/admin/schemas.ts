/** Request shapes of the admin routes (docs/API.md "5. Routes"). */
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../audit/service.js';
import { listQuery, pgText } from '../recordings/schemas.js';

export const adminListQuery = listQuery.extend({
  userId: pgText(256).optional(),
  /** (extension) Text in a marker's label (issue 14). */
  marker: pgText(200).optional(),
});

export const settingsBody = z.strictObject({ autoRecord: z.boolean() });

export const auditQuery = z.object({
  action: z.enum(AUDIT_ACTIONS).optional(),
  recordingId: z.uuid({ message: 'recordingId must be a recording UUID' }).optional(),
  actorId: pgText(256).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(200).optional(),
});
