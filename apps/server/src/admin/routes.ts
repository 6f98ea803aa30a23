/**
 * The administrator's routes under /api/admin (docs/API.md "Admin routes"): every user's
 * recordings, the run-time settings, retention on demand and the audit trail.
 * Mounted behind bearerAuth + requireAdmin; downloads and deletes of any
 * recording go through the ordinary recording routes. An auditor calls the
 * reads of AUDITOR_READS, each of which is written to the audit trail.
 */
import type {
  AuditAction,
  Recording,
  AdminOverview,
  AdminSettings,
  AuditEntry,
  AuditVerification,
  BulkDeleteResult,
  Page,
  RecordingPage,
  RetentionResult,
} from '@sortie/contract';
import { Hono } from 'hono';
import { READ_AUDIT_WINDOW_MS, type AuditService } from '../audit/service.js';
import type { Identity } from '../auth/identity.js';
import type { AuthEnv } from '../auth/middleware.js';
import type { Db } from '../db/client.js';
import type { Clock } from '../lib/clock.js';
import type { RetentionJob } from '../jobs/retention.js';
import { validate } from '../lib/validate.js';
import { idParam } from '../recordings/schemas.js';
import type { RecordingsService } from '../recordings/service.js';
import type { SettingsService } from '../settings/service.js';
import { bulkDelete } from './bulk-delete.js';
import { adminOverview } from './overview.js';
import {
  adminListQuery,
  auditExportQuery,
  auditQuery,
  bulkDeleteBody,
  holdBody,
  overviewQuery,
  settingsBody,
} from './schemas.js';

export interface AdminRoutesDeps {
  recordings: RecordingsService;
  settings: SettingsService;
  audit: AuditService;
  retention: RetentionJob;
  /** The overview's aggregate queries read the database directly. */
  db: Db;
  clock: Clock;
}

/**
 * The admin routes an auditor may call (GET, below /api/admin): every user's recordings and the audit trail.
 * Overview and settings stay an administrator's: they are not in the auditor's remit of recordings and trail.
 */
export const AUDITOR_READS = ['/recordings', '/audit', '/audit/verify', '/audit/export'] as const;

export function adminRoutes(deps: AdminRoutesDeps) {
  const { recordings, settings, audit, retention } = deps;
  const app = new Hono<AuthEnv>();

  /** An auditor's reads are on the record, each one: what was asked is kept in the entry's details. */
  const auditRead = async (user: Identity, action: AuditAction, details: Record<string, unknown>) => {
    if (user.isAuditor) await audit.record({ actor: user, action, details });
  };

  app.get('/recordings', validate('query', adminListQuery), async (c) => {
    const query = c.req.valid('query');
    const user = c.get('user');
    // The admin page's live list asks for what changed every few seconds (updatedSince): those polls are one
    // entry per auditor in the read window, as a player's seeks are; each search the auditor makes is its own.
    if (user.isAuditor && query.updatedSince !== undefined)
      await audit.recordCoalesced(
        { actor: user, action: 'recording.list', recordingId: null, details: { query, poll: true } },
        READ_AUDIT_WINDOW_MS,
        { poll: true },
      );
    else await auditRead(user, 'recording.list', { query });
    return c.json((await recordings.queries.list(query)) satisfies RecordingPage);
  });

  // A POST with the ids in the body, not DELETE with a query: 200 UUIDs do not fit every proxy's URL limit.
  app.post('/recordings/delete', validate('json', bulkDeleteBody), async (c) =>
    c.json(
      (await bulkDelete({ recordings, audit }, c.get('user'), c.req.valid('json').ids)) satisfies BulkDeleteResult,
    ),
  );

  // A legal hold keeps the recording from every delete until it is released (docs/API.md "Legal hold").
  app.put('/recordings/:id/hold', validate('param', idParam), validate('json', holdBody), async (c) => {
    const user = c.get('user');
    const body = c.req.valid('json');
    const { recording, changed, previous } = await recordings.lifecycle.setHold(
      user,
      c.req.valid('param').id,
      body.hold ? { hold: true, reason: body.reason } : { hold: false },
    );
    if (changed) {
      await audit.record({
        actor: user,
        action: body.hold ? 'recording.hold' : 'recording.release',
        recordingId: recording.id,
        details: { userId: previous.userId, sessionId: previous.sessionId, reason: body.reason ?? null },
      });
    }
    return c.json(recording satisfies Recording);
  });

  app.get('/overview', validate('query', overviewQuery), async (c) =>
    c.json((await adminOverview(deps.db, deps.clock, c.req.valid('query').days)) satisfies AdminOverview),
  );

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

  // The entry of an auditor's read is written first, so that the read itself is in what it answers.
  app.get('/audit', validate('query', auditQuery), async (c) => {
    const query = c.req.valid('query');
    await auditRead(c.get('user'), 'audit.list', { query });
    return c.json((await audit.list(query)) satisfies Page<AuditEntry>);
  });

  app.get('/audit/verify', async (c) => {
    await auditRead(c.get('user'), 'audit.verify', {});
    return c.json((await audit.verify()) satisfies AuditVerification);
  });

  // JSON Lines, streamed a page of entries at a time; `pnpm sortie-verify --audit <file>` checks it offline.
  app.get('/audit/export', validate('query', auditExportQuery), async (c) => {
    const { from, to } = c.req.valid('query');
    await auditRead(c.get('user'), 'audit.export', {
      from: from?.toISOString() ?? null,
      to: to?.toISOString() ?? null,
    });
    const entries = audit.exportRange(from ?? new Date(0), to ?? new Date('9999-12-31T23:59:59.999Z'));
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await entries.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      },
      async cancel() {
        await entries.return(undefined);
      },
    });
    return c.body(body, 200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': 'attachment; filename="sortie-audit.jsonl"',
      'Cache-Control': 'private, no-store',
    });
  });

  return app;
}
