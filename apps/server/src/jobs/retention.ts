/**
 * The retention job (admin guide, "Retention Policy"): deletes recordings in
 * state `ready` whose createdAt is older than SORTIE_RECORDING_RETENTION_DAYS
 * days — the stored object first, then the row — and never touches another
 * state, nor a recording on legal hold. Runs hourly from the scheduler and on demand from
 * POST /api/admin/retention/run; one replica at a time does the work.
 */
import { and, asc, eq, isNull, lt, notInArray } from 'drizzle-orm';
import type { AuditService } from '../audit/service.js';
import type { Db } from '../db/client.js';
import { recordings } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { RecordingsService } from '../recordings/service.js';
import { LOCK_IDS, withJobLock } from './lock.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Rows per transaction. Small, because a crash mid-batch rolls back the row
 * deletes of objects already gone; the next run then removes those rows
 * (deleting a missing object is a no-op), so nothing is lost, only redone.
 * And small because each deleted row's overview totals (its owner's, its
 * day's) stay locked until the batch commits, while the rest of the batch's
 * objects are deleted: the owners' part requests and new recordings wait that
 * long.
 */
const BATCH = 10;

export const RETENTION_ACTOR = { id: null, name: 'retention job' } as const;

export interface RetentionResult {
  deleted: number;
  /** True when another replica held the lock, so this one did nothing. */
  skipped: boolean;
}

export interface RetentionJobOptions {
  db: Db;
  /** The recordings service; the job runs it on its own transaction (withDb). */
  recordings: RecordingsService;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  /** SORTIE_RECORDING_RETENTION_DAYS; 0 keeps everything. */
  retentionDays: number;
  /** Told how many recordings a run deleted (the metrics counter). */
  onDeleted?: (count: number) => void;
}

export class RetentionJob {
  constructor(private readonly opts: RetentionJobOptions) {}

  get enabled(): boolean {
    return this.opts.retentionDays > 0;
  }

  /** SORTIE_RECORDING_RETENTION_DAYS, shown in the admin Settings tab. */
  get retentionDays(): number {
    return this.opts.retentionDays;
  }

  async run(): Promise<RetentionResult> {
    const { db, clock, logger, retentionDays } = this.opts;
    if (!this.enabled) {
      logger.info('retention run', { deleted: 0, retentionDays, note: 'retention is 0: recordings are kept forever' });
      return { deleted: 0, skipped: false };
    }
    const cutoff = new Date(clock.now().getTime() - retentionDays * DAY_MS);
    let deleted = 0;
    let first = true;
    // Rows whose object could not be deleted in this run; left for the next one.
    const failedIds: string[] = [];
    for (;;) {
      const batch = await withJobLock(db, LOCK_IDS.retention, (tx) => this.deleteBatch(tx, cutoff, failedIds));
      if (!batch.acquired) {
        // Another replica is running retention right now: not an error, nothing to do.
        if (first) {
          logger.info('retention run', { deleted: 0, skipped: true, note: 'another replica holds the retention lock' });
          return { deleted: 0, skipped: true };
        }
        break;
      }
      first = false;
      deleted += batch.value.deleted;
      if (batch.value.seen < BATCH) break;
    }
    if (deleted > 0) this.opts.onDeleted?.(deleted);
    logger.info('retention run', {
      deleted,
      retentionDays,
      cutoff: cutoff.toISOString(),
      ...(failedIds.length ? { notDeleted: failedIds.length } : {}),
    });
    return { deleted, skipped: false };
  }

  private async deleteBatch(tx: Db, cutoff: Date, failedIds: string[]): Promise<{ seen: number; deleted: number }> {
    const { logger } = this.opts;
    const audit = this.opts.audit.withDb(tx);
    const rows = await tx
      .select()
      .from(recordings)
      .where(
        and(
          eq(recordings.status, 'ready'),
          lt(recordings.createdAt, cutoff),
          // Held recordings are kept whatever their age: a filter on the (status, created_at) index range's rows.
          isNull(recordings.heldAt),
          failedIds.length ? notInArray(recordings.id, failedIds) : undefined,
        ),
      )
      .orderBy(asc(recordings.createdAt), asc(recordings.id))
      .limit(BATCH)
      // The advisory lock keeps replicas apart; the row lock keeps a concurrent DELETE by a user off these rows.
      .for('update', { skipLocked: true });
    let deleted = 0;
    for (const row of rows) {
      try {
        // A savepoint, so that one failed delete does not abort the whole batch's transaction.
        await tx.transaction((sp) => this.opts.recordings.withDb(sp as unknown as Db).lifecycle.deleteRow(row));
      } catch (err) {
        failedIds.push(row.id);
        logger.error('retention could not delete a recording; it is kept for the next run', {
          recordingId: row.id,
          err: String(err),
        });
        continue;
      }
      await audit.record({
        actor: RETENTION_ACTOR,
        action: 'retention.delete',
        recordingId: row.id,
        details: {
          userId: row.userId,
          sessionId: row.sessionId,
          createdAt: row.createdAt.toISOString(),
          sizeBytes: row.sizeBytes,
        },
      });
      deleted++;
    }
    return { seen: rows.length, deleted };
  }
}
