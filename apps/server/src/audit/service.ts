/**
 * The audit trail: who did what, when, to which recording or setting. Written
 * for administrators' actions on other people's recordings, settings changes
 * and retention deletions; read newest first with keyset paging.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditEntry, Page } from '@sortie/contract';
import { and, asc, desc, eq, gt, gte, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { decodeCursor, encodeCursor } from '../recordings/cursor.js';
import { AUDIT_CHAIN_LOCK_ID, entryHash, type ChainedContent } from './chain.js';

type AuditRow = typeof auditLog.$inferSelect;

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
  'recording.hold',
  'recording.release',
  'recording.view',
  'recording.seal',
  'recording.markers',
  'recording.list',
  'audit.list',
  'audit.verify',
  'audit.export',
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

/** Entries read at a time when the chain is walked or exported. */
const VERIFY_PAGE = 1000;

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
    // In the caller's transaction when this service writes through one (withDb), else in one of its own.
    await this.db.transaction((tx) => this.append(tx as unknown as Db, entry));
  }

  /** Appends an entry to the chain: under the chain's lock, after the entry with the highest seq. */
  private async append(
    tx: Db,
    entry: { actor: Actor; action: AuditAction; recordingId?: string | null; details?: Record<string, unknown> },
  ): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID.toString()}::bigint)`);
    const [head] = await tx
      .select({ seq: auditLog.seq, hash: auditLog.hash })
      .from(auditLog)
      .where(isNotNull(auditLog.seq))
      .orderBy(desc(auditLog.seq))
      .limit(1);
    const at = this.clock.now();
    const content: ChainedContent = {
      seq: (head?.seq ?? 0) + 1,
      id: randomUUID(),
      at: at.toISOString(),
      actorId: entry.actor.id,
      actorName: entry.actor.name,
      action: entry.action,
      recordingId: entry.recordingId ?? null,
      // As the database gives it back (jsonb), so that the hash is of what is read later.
      details: JSON.parse(JSON.stringify(entry.details ?? {})) as Record<string, unknown>,
      prevHash: head?.hash ?? null,
    };
    await tx.insert(auditLog).values({
      id: content.id,
      at,
      actorId: content.actorId,
      actorName: content.actorName,
      action: content.action,
      recordingId: content.recordingId,
      details: content.details,
      seq: content.seq,
      prevHash: content.prevHash,
      hash: entryHash(content),
    });
  }

  /**
   * Walks the chain from its first entry: each entry's hash must be that of its content and of the previous
   * entry's hash, and its seq the next one. Reads in pages, never the whole trail at once.
   */
  async verify(): Promise<{ ok: boolean; entries: number; unchained: number; firstBadId?: string; problem?: string }> {
    const [legacy] = (await this.db.execute(
      sql`select count(*)::int as n from ${auditLog} where seq is null`,
    )) as unknown as { n: number }[];
    let entries = 0;
    let prev: { seq: number; hash: string } | null = null;
    for (;;) {
      const after: number = prev?.seq ?? 0;
      const rows: AuditRow[] = await this.db
        .select()
        .from(auditLog)
        .where(and(isNotNull(auditLog.seq), gt(auditLog.seq, after)))
        .orderBy(asc(auditLog.seq))
        .limit(VERIFY_PAGE);
      for (const r of rows) {
        const bad = (problem: string) => ({ ok: false, entries, unchained: legacy?.n ?? 0, firstBadId: r.id, problem });
        const seq: number = r.seq!;
        if (prev ? seq !== prev.seq + 1 : false) return bad(`entry ${prev!.seq + 1} is missing`);
        if (r.prevHash !== (prev?.hash ?? null)) return bad('its previous hash is not the previous entry’s hash');
        if (entryHash(chained(r)) !== r.hash) return bad('its content is not what its hash was made of');
        entries++;
        prev = { seq, hash: r.hash };
      }
      if (rows.length < VERIFY_PAGE) break;
    }
    return { ok: true, entries, unchained: legacy?.n ?? 0 };
  }

  /** The chained entries written in [from, to), in chain order, a page at a time (an export streams them). */
  async *exportRange(from: Date, to: Date): AsyncGenerator<ChainedContent & { hash: string }> {
    let after = 0;
    for (;;) {
      const rows = await this.db
        .select()
        .from(auditLog)
        .where(and(gt(auditLog.seq, after), gte(auditLog.at, from), lt(auditLog.at, to)))
        .orderBy(asc(auditLog.seq))
        .limit(VERIFY_PAGE);
      for (const r of rows) {
        yield { ...chained(r), hash: r.hash! };
        after = r.seq!;
      }
      if (rows.length < VERIFY_PAGE) return;
    }
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
      /** null: a read of no one recording (the admin list's poll). */
      recordingId: string | null;
      details?: Record<string, unknown>;
    },
    windowMs = READ_AUDIT_WINDOW_MS,
    /** Only entries whose details hold these keys and values count as the earlier one (the list's polls). */
    sameAs: Record<string, unknown> = {},
  ): Promise<boolean> {
    const at = this.clock.now();
    const since = new Date(at.getTime() - windowMs);
    const lockKey = `sortie.audit:${entry.action}:${entry.recordingId}:${entry.actor.id}`;
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`);
      const recent = (await tx.execute(sql`
        select 1 from ${auditLog}
        where at > ${since.toISOString()}::timestamptz
          and actor_id = ${entry.actor.id} and action = ${entry.action}
          and ${entry.recordingId === null ? sql`recording_id is null` : sql`recording_id = ${entry.recordingId}::uuid`}
          and details @> ${JSON.stringify(sameAs)}::jsonb
        limit 1`)) as unknown as unknown[];
      if (recent.length > 0) return false;
      await this.append(tx as unknown as Db, entry);
      return true;
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

/** A chained entry's content as its hash covers it (the row's seq is set: the caller read chained rows only). */
function chained(r: AuditRow): ChainedContent {
  return {
    seq: r.seq!,
    id: r.id,
    at: r.at.toISOString(),
    actorId: r.actorId,
    actorName: r.actorName,
    action: r.action,
    recordingId: r.recordingId,
    details: r.details,
    prevHash: r.prevHash,
  };
}
