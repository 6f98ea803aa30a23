/**
 * The administrator's routes under /api/admin (docs/API.md "Admin routes"): every user's
 * recordings, the run-time settings, retention on demand and the audit trail.
 * Mounted behind bearerAuth + requireAdmin; downloads and deletes of any
 * recording go through the ordinary recording routes.
 */
import type { AdminSettings, AuditEntry, Page, Recording, RetentionResult } from '@sortie/contract';
import { Hono } from 'hono';
import type { AuditService } from '../audit/service.js';
import type { AuthEnv } from '../auth/middleware.js';
import type { RetentionJob } from '../jobs/retention.js';
import { validate } from '../lib/validate.js';
import type { RecordingsService } from '../recordings/service.js';
import type { SettingsService } from '../settings/service.js';
import { adminListQuery, auditQuery, settingsBody } from './schemas.js';

export interface AdminRoutesDeps {
  recordings: RecordingsService;
  settings: SettingsService;
  audit: AuditService;
  retention: RetentionJob;
}

export function adminRoutes(deps: AdminRoutesDeps) {
  const { recordings, settings, audit, retention } = deps;
  const app = new Hono<AuthEnv>();

  app.get('/recordings', validate('query', adminListQuery), async (c) => {
    return c.json((await recordings.list(c.req.valid('query'))) satisfies Page<Recording>);
  });

  // retentionDays is read-only (an environment variable); the Settings tab shows it beside autoRecord.
  app.get('/settings', async (c) =>
    c.json({ ...(await settings.get()), retentionDays: retention.retentionDays } satisfies AdminSettings),
  );

  app.put('/settings', validate('json', settingsBody), async (c) => {
    const user = c.get('user');
    const before = await settings.get();
    // updatedBy is the admin's user id (the token's sub): stable, unlike a display name.
    const after = await settings.update(c.req.valid('json'), user.id);
    await audit.record({
      actor: user,
      action: 'settings.update',
      details: { autoRecord: { from: before.autoRecord, to: after.autoRecord } },
    });
    return c.json({ ...after, retentionDays: retention.retentionDays } satisfies AdminSettings);
  });

  app.post('/retention/run', async (c) => {
    const { deleted, skipped } = await retention.run();
    // `skipped`: another replica was running retention at that moment and is doing the work.
    return c.json((skipped ? { deleted, skipped } : { deleted }) satisfies RetentionResult);
  });

  app.get('/audit', validate('query', auditQuery), async (c) =>
    c.json((await audit.list(c.req.valid('query'))) satisfies Page<AuditEntry>),
  );

  return app;
}
