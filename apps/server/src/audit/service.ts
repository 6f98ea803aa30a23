/**
 * The audit trail: who did what, when, to which recording or setting. Written
 * for administrators' actions on other people's recordings, settings changes
 * and retention deletions; read newest first with keyset paging.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditEntry, Page } from '@sortie/contract';
import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { decodeCursor, encodeCursor } from '../recordings/cursor.js';

export type { AuditAction, AuditEntry };

/** Every action the trail knows: the contract's AuditAction (docs/API.md "Audit trail"), as a list for validation. */
export const AUDIT_ACTIONS = [
  'recording.delete',
  'recording.download',
  'recording.download_url',
  'recording.thumbnails',
  'settings.update',
  'retention.delete',
  'sweeper.finalize',
  'sweeper.fail',
] as const satisfies readonly AuditAction[];
/** Fails to compile ("property '<action>' is missing") when the contract has an action this list lacks. */
const _everyAction: Record<Exclude<AuditAction, (typeof AUDIT_ACTIONS)[number]>, never> = {};

/** The actor of what the service does on its own (jobs): no user id, a name saying which job. */
export type Actor = Pick<Identity, 'id' | 'name'> | { id: null; name: string };

export type AuditPage = Page<AuditEntry>;

/**
 * Reads of someone else's recording are audited at most once per admin, recording and action in this
 * window: a player seeking through a recording sends a request per seek, and each would otherwise be an entry.
 */
export const READ_AUDIT_WINDOW_MS = 10 * 60_000;

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** The same service writing through another handle (a job's transaction). */
  withDb(db: Db): AuditService {
    return new AuditService(db, this.clock);
  }

  async record(entry: {
    actor: Actor;
    action: AuditAction;
    recordingId?: string | null;
    details?: Record<string, unknown>;
  }): Promise<void> {
    await this.db.insert(auditLog).values({
      id: randomUUID(),
      at: this.clock.now(),
      actorId: entry.actor.id,
      actorName: entry.actor.name,
      action: entry.action,
      recordingId: entry.recordingId ?? null,
      details: entry.details ?? {},
    });
  }

  /**
   * Records the entry unless the same actor already has one of the same action on the same recording less
   * than windowMs ago. Decided in the database under a transaction-scoped advisory lock on (actor, recording,
   * action), so that concurrent requests on any number of replicas write one entry, not one each. The lookup
   * reads the last windowMs of the trail through its `at` index.
   */
  async recordCoalesced(
    entry: {
      actor: Actor & { id: string };
      action: AuditAction;
      recordingId: string;
      details?: Record<string, unknown>;
    },
    windowMs = READ_AUDIT_WINDOW_MS,
  ): Promise<boolean> {
    const at = this.clock.now();
    const since = new Date(at.getTime() - windowMs);
    const lockKey = `sortie.audit:${entry.action}:${entry.recordingId}:${entry.actor.id}`;
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`);
      const inserted = (await tx.execute(sql`
        insert into ${auditLog} (id, at, actor_id, actor_name, action, recording_id, details)
        select ${randomUUID()}, ${at.toISOString()}::timestamptz, ${entry.actor.id}, ${entry.actor.name},
               ${entry.action}, ${entry.recordingId}::uuid, ${JSON.stringify(entry.details ?? {})}::jsonb
        where not exists (
          select 1 from ${auditLog}
          where at > ${since.toISOString()}::timestamptz
            and actor_id = ${entry.actor.id} and recording_id = ${entry.recordingId}::uuid and action = ${entry.action}
        )
        returning id`)) as unknown as { rows?: unknown[] } | unknown[];
      return (Array.isArray(inserted) ? inserted : (inserted.rows ?? [])).length > 0;
    });
  }

  async list(filter: {
    limit: number;
    cursor?: string;
    action?: AuditAction;
    recordingId?: string;
    actorId?: string;
  }): Promise<AuditPage> {
    const where: SQL[] = [];
    if (filter.action !== undefined) where.push(eq(auditLog.action, filter.action));
    if (filter.recordingId !== undefined) where.push(eq(auditLog.recordingId, filter.recordingId));
    if (filter.actorId !== undefined) where.push(eq(auditLog.actorId, filter.actorId));
    if (filter.cursor !== undefined) {
      const c = decodeCursor(filter.cursor);
      where.push(or(lt(auditLog.at, c.createdAt), and(eq(auditLog.at, c.createdAt), lt(auditLog.id, c.id)))!);
    }
    const rows = await this.db
      .select()
      .from(auditLog)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLog.at), desc(auditLog.id))
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actorId: r.actorId,
        actorName: r.actorName,
        action: r.action as AuditAction,
        recordingId: r.recordingId,
        details: r.details,
      })),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(last.at, last.id) : null,
    };
  }
}
