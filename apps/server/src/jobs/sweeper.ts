/**
 * The sweeper of abandoned recordings (docs/API.md "Abandoned recordings"): a
 * recording in `recording` or `uploading` that has had no activity (no part
 * requested or received, no stop) for SORTIE_RECORDING_ABANDONED_AFTER_MINUTES
 * is finalized from the parts storage holds, so a closed tab still leaves a
 * playable recording; one that holds no usable part becomes `failed`.
 */
import { and, asc, inArray, isNotNull, lt, notInArray, or } from 'drizzle-orm';
import type { AuditService } from '../audit/service.js';
import type { Db } from '../db/client.js';
import { recordings, type RecordingRow } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { DomainError } from '../errors.js';
import type { Recording, RecordingsService } from '../recordings/service.js';
import type { StoredPart } from '../storage/types.js';
import { LOCK_IDS, withJobLock } from './lock.js';

/** Recordings per transaction: finalizing joins parts, so keep each transaction short. */
const BATCH = 10;

export const SWEEPER_ACTOR = { id: null, name: 'sweeper' } as const;

/**
 * A recording ended by a beacon is finalized once no part has landed for this
 * long (the page's last part may still be on its way when the beacon arrives).
 */
export const BEACON_QUIET_MS = 2000;
/** How many times settleSoon looks again while the recording's last parts are still arriving. */
const BEACON_TRIES = 15;

export interface SweepResult {
  finalized: number;
  failed: number;
  skipped: boolean;
  /** Recordings whose orphan tails this run removed (S3), when any. */
  orphanTails?: number;
}

export interface SweeperOptions {
  db: Db;
  /** The recordings service; each settle runs it on the sweeper's connection (withDb). */
  recordings: RecordingsService;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  /** SORTIE_RECORDING_ABANDONED_AFTER_MINUTES. */
  abandonedAfterMinutes: number;
}

/**
 * The parts a recording can be assembled from: the longest run 1..n of
 * consecutive part numbers (a gap cannot be played across), cut after the
 * first part shorter than the backend's minimum, since only the last part may
 * be short (S3 refuses to complete otherwise).
 */
export function usableParts(parts: StoredPart[], minPartSizeBytes: number): StoredPart[] {
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  const run: StoredPart[] = [];
  for (let n = 1; byNumber.has(n); n++) {
    const p = byNumber.get(n)!;
    run.push(p);
    if (p.sizeBytes < minPartSizeBytes) break;
  }
  return run;
}

/** The longest run of `parts` (already in order) whose sizes add up to at most `maxSizeBytes`. */
export function fittingPrefix(parts: StoredPart[], maxSizeBytes: number): StoredPart[] {
  let total = 0;
  const out: StoredPart[] = [];
  for (const p of parts) {
    total += p.sizeBytes;
    if (total > maxSizeBytes) break;
    out.push(p);
  }
  return out;
}

export class Sweeper {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: SweeperOptions) {}

  /**
   * Finalizes a recording a beacon ended, in seconds rather than at the next
   * minute's run: a run after the quiet time, repeated while a body of this
   * recording is still being received here. (Should this process die first,
   * any replica's next run finalizes it: the claim takes beacon-ended rows.)
   */
  settleSoon(recordingId: string, tries = BEACON_TRIES): void {
    const timer = setTimeout(async () => {
      this.pending.delete(timer);
      try {
        // A body that has had no byte for the quiet time does not hold the recording open: a
        // keepalive PUT sent as the tab closed can arrive as headers whose body never follows
        // (Chromium, seen in tab-close.test.ts), and would otherwise hold it until the idle
        // timeout (30 s). Its bytes, should they come after all, are refused (409): it is ended.
        const busy = this.opts.recordings.gate.busy(recordingId, BEACON_QUIET_MS);
        if (!busy) await this.run();
        const row = await this.opts.recordings.rowById(recordingId);
        if (row && (row.status === 'recording' || row.status === 'uploading') && tries > 1)
          this.settleSoon(recordingId, tries - 1);
      } catch (err) {
        this.opts.logger.error('could not finalize a recording ended by a beacon; the next run will', {
          recordingId,
          err: String(err),
        });
      }
    }, BEACON_QUIET_MS + 250);
    timer.unref();
    this.pending.add(timer);
  }

  /** Cancels the settleSoon timers (shutdown). */
  stopPending(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }

  async run(): Promise<SweepResult> {
    const { db, clock, logger, abandonedAfterMinutes } = this.opts;
    const cutoff = new Date(clock.now().getTime() - abandonedAfterMinutes * 60_000);
    const result: SweepResult = { finalized: 0, failed: 0, skipped: false };
    // Recordings this run could not settle (an error was logged); not retried until the next run.
    const stuck: string[] = [];
    let first = true;
    for (;;) {
      const batch = await withJobLock(db, LOCK_IDS.sweeper, (tx) => this.claimBatch(tx, cutoff, stuck));
      if (!batch.acquired) {
        if (first) result.skipped = true;
        break;
      }
      first = false;
      // Joining parts can take a while: it runs outside any transaction, so the database
      // (PGlite has a single connection) keeps serving requests meanwhile. The state changes
      // it ends with are conditional, so a client's late complete or fail races it safely.
      for (const row of batch.value) {
        try {
          await this.settle(db, row, result);
        } catch (err) {
          stuck.push(row.id);
          this.opts.logger.error('sweeper could not settle an abandoned recording; it will be retried', {
            recordingId: row.id,
            err: String(err),
          });
        }
      }
      if (batch.value.length < BATCH) break;
    }
    if (!result.skipped) {
      // S3: tails that belong to no open recording (written after it ended, or left by a failed delete).
      try {
        const removed = await this.opts.recordings.removeOrphanTails();
        if (removed) result.orphanTails = removed;
        // And of open recordings, the tails their stored parts replaced, once no target can add to them.
        await this.opts.recordings.removeSupersededTails();
      } catch (err) {
        logger.error('sweeper could not remove orphan or superseded tails; the next run will', { err: String(err) });
      }
    }
    if (result.finalized || result.failed || stuck.length)
      logger.info('sweeper run', { ...result, stuck: stuck.length, abandonedAfterMinutes });
    return result;
  }

  /**
   * Picks a batch of abandoned recordings under the job lock and claims them by
   * marking them active now, so no other replica's run takes them while this
   * one settles them (a claim left by a crashed replica lapses after the idle time).
   */
  private async claimBatch(tx: Db, cutoff: Date, stuck: string[]): Promise<RecordingRow[]> {
    const quiet = new Date(this.opts.clock.now().getTime() - BEACON_QUIET_MS);
    const rows = await tx
      .select()
      .from(recordings)
      .where(
        and(
          inArray(recordings.status, ['recording', 'uploading']),
          or(
            lt(recordings.lastActivityAt, cutoff),
            // Ended by a beacon, and no part has landed for a moment: finalize now.
            and(
              isNotNull(recordings.endRequestedAt),
              lt(recordings.lastActivityAt, quiet),
              lt(recordings.endRequestedAt, quiet),
            ),
          ),
          stuck.length ? notInArray(recordings.id, stuck) : undefined,
        ),
      )
      .orderBy(asc(recordings.lastActivityAt), asc(recordings.id))
      .limit(BATCH)
      .for('update', { skipLocked: true });
    if (rows.length > 0) {
      await tx
        .update(recordings)
        .set({ lastActivityAt: this.opts.clock.now() })
        .where(
          inArray(
            recordings.id,
            rows.map((r) => r.id),
          ),
        );
    }
    return rows;
  }

  private async settle(db: Db, row: RecordingRow, result: SweepResult): Promise<void> {
    const { logger, recordings: base } = this.opts;
    const service = base.withDb(db);
    const storage = service.storage;
    const endedBy = row.endRequestedAt ? 'beacon' : 'abandoned';
    const audit = this.opts.audit.withDb(db);
    // What is stored, as the database says where it knows (parts received through the
    // service), or as the backend says where it never saw the bytes (S3).
    const stored = await service.parts.storedParts(row);
    // On S3, what the client had not yet made a part is in its tail objects: they become the last part.
    let parts = await service.strategy.foldTails(row, usableParts(stored, storage.minPartSizeBytes));
    const idle = { lastActivityAt: row.lastActivityAt.toISOString(), userId: row.userId, sessionId: row.sessionId };
    const fail = async (reason: string) => {
      await service.lifecycle.markFailed(row, reason);
      await audit.record({
        actor: SWEEPER_ACTOR,
        action: 'sweeper.fail',
        recordingId: row.id,
        details: { ...idle, reason },
      });
      logger.warn('abandoned recording marked failed', { recordingId: row.id, storedParts: stored.length, reason });
      result.failed++;
    };
    if (parts.length === 0) {
      // A complete that joined the parts but never recorded it: the object is whole, keep it.
      const joined = await storage.stat(row.storageKey);
      if (joined) {
        const rec = await service.finalizer.markReady(row, joined.sizeBytes, null, endedBy);
        await audit.record({
          actor: SWEEPER_ACTOR,
          action: 'sweeper.finalize',
          recordingId: row.id,
          details: { ...idle, sizeBytes: rec.sizeBytes, joinedEarlier: true },
        });
        logger.info('abandoned recording finalized from an object joined earlier', {
          recordingId: row.id,
          sizeBytes: rec.sizeBytes,
        });
        result.finalized++;
        return;
      }
      await fail(
        stored.length
          ? `Abandoned: no activity since ${idle.lastActivityAt}, and the parts stored (${stored.map((p) => p.partNumber).join(', ')}) do not start at part 1.`
          : `Abandoned: no activity since ${idle.lastActivityAt} and no part was uploaded.`,
      );
      return;
    }
    const all = parts.length;
    // The duration is unknown: the client that measured it is gone (docs/API.md allows null).
    // A verdict on the parts themselves (over the size limit, a part storage no longer
    // holds) will not change by waiting: keep the longest prefix that can be assembled
    // rather than retry forever, and fail the recording only when no prefix can be. An
    // error that may pass (a full disk, storage unreachable) is thrown: retried next run.
    let rec: Recording | null = null;
    let lastError = '';
    while (parts.length > 0 && !rec) {
      try {
        rec = await service.finalizer.finalize(
          row,
          null,
          parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
          endedBy,
        );
      } catch (err) {
        if (!(err instanceof DomainError) || !err.isClientFault) throw err;
        lastError = err.message;
        const fitting = fittingPrefix(parts, service.maxSizeBytes);
        const missing = /part (\d+)/i.exec(err.message);
        if (fitting.length < parts.length) parts = fitting;
        else if (missing && Number(missing[1]) <= parts.length) parts = parts.slice(0, Number(missing[1]) - 1);
        else parts = [];
      }
    }
    if (!rec) {
      await fail(`Abandoned, and its parts could not be assembled: ${lastError}`);
      return;
    }
    const dropped = stored.filter((p) => p.partNumber > parts.length).map((p) => p.partNumber);
    await audit.record({
      actor: SWEEPER_ACTOR,
      action: 'sweeper.finalize',
      recordingId: row.id,
      details: {
        ...idle,
        parts: parts.length,
        sizeBytes: rec.sizeBytes,
        ...(dropped.length ? { droppedParts: dropped } : {}),
      },
    });
    if (dropped.length)
      logger.warn('abandoned recording finalized without some parts', {
        recordingId: row.id,
        parts: parts.length,
        of: all,
        droppedParts: dropped,
      });
    else
      logger.info('abandoned recording finalized', {
        recordingId: row.id,
        parts: parts.length,
        sizeBytes: rec.sizeBytes,
      });
    result.finalized++;
  }
}
