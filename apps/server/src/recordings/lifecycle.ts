/**
 * The other transitions of a recording: stop, fail (the client's or the sweeper's), the end a beacon asks for,
 * and delete. Each is conditional on the state it starts from; storage is made to agree with the row after.
 */
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type RecordingRow } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { RecordingStorage } from '../storage/types.js';
import type { RecordingQueries } from './queries.js';
import { ON_HOLD_MESSAGE, OPEN, toResource, type Recording } from './resource.js';
import type { UploadStrategy } from './upload-strategy.js';

export interface LifecycleDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  strategy: UploadStrategy;
  queries: RecordingQueries;
}

export class RecordingLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  async stop(user: Identity, id: string): Promise<Recording> {
    const { db, clock, queries } = this.deps;
    const row = await queries.getRow(user, id, 'own');
    if (row.status === 'uploading') return toResource(row);
    if (row.status !== 'recording')
      throw conflict(`Recording is ${row.status}; only a recording in progress can be stopped.`);
    const now = clock.now();
    const [updated] = await db
      .update(recordings)
      .set({ status: 'uploading', updatedAt: now, lastActivityAt: now })
      .where(and(eq(recordings.id, id), eq(recordings.status, 'recording')))
      .returning();
    return toResource(updated ?? (await queries.getRow(user, id, 'own')));
  }

  /**
   * A beacon from the recording's page says it is over (the tab closed): the
   * recording stops taking new part URLs' worth of time and is finalized from
   * what is stored once its last part in flight has landed (the sweeper's
   * settleSoon). Answers whether this call ended it (false: already ended).
   */
  async requestEnd(id: string): Promise<boolean> {
    const now = this.deps.clock.now();
    const updated = await this.deps.db
      .update(recordings)
      .set({ status: 'uploading', endRequestedAt: now, endedBy: 'beacon', updatedAt: now })
      .where(and(eq(recordings.id, id), inArray(recordings.status, OPEN), isNull(recordings.endRequestedAt)))
      .returning({ id: recordings.id });
    return updated.length > 0;
  }

  async fail(user: Identity, id: string, reason: string): Promise<Recording> {
    const row = await this.deps.queries.getRow(user, id, 'own');
    if (row.status === 'failed') return toResource(row);
    if (row.status === 'ready') throw conflict('Recording is ready; it cannot be failed.');
    return this.markFailed(row, reason);
  }

  /** Claims the failed state first (only from an open one), then discards what storage holds. */
  async markFailed(row: RecordingRow, reason: string): Promise<Recording> {
    const { db, clock, queries } = this.deps;
    const now = clock.now();
    const [updated] = await db
      .update(recordings)
      .set({ status: 'failed', failureReason: reason, sizeBytes: 0, updatedAt: now, uploadId: null, endedBy: 'failed' })
      .where(and(eq(recordings.id, row.id), inArray(recordings.status, OPEN)))
      .returning();
    if (!updated) {
      const current = await queries.rowById(row.id);
      if (!current) throw notFound();
      if (current.status === 'failed') return toResource(current);
      throw conflict(`Recording is ${current.status}; it cannot be failed.`);
    }
    await this.discardStorage(row);
    await db.delete(recordingParts).where(eq(recordingParts.recordingId, row.id));
    return toResource(updated);
  }

  /**
   * Deletes a recording's stored files and then its row, so a crash never leaves bytes with no row. True when
   * this call removed the row; false when a concurrent delete (another request, another replica) removed it
   * first: only the one that removed it reports and audits the delete.
   */
  async deleteRow(row: RecordingRow): Promise<boolean> {
    // The row the caller read may be older than a hold: the hold is read again right before anything is removed.
    // A hold placed after this read, while the files are being removed, comes too late: the delete goes on.
    if (row.heldAt) throw conflict(ON_HOLD_MESSAGE);
    const [current] = await this.deps.db
      .select({ heldAt: recordings.heldAt })
      .from(recordings)
      .where(eq(recordings.id, row.id));
    if (!current) return false;
    if (current.heldAt) throw conflict(ON_HOLD_MESSAGE);
    await this.discardStorage(row);
    const removed = await this.deps.db
      .delete(recordings)
      .where(eq(recordings.id, row.id))
      .returning({ id: recordings.id });
    // Once more after the row: a thumbnail PUT that held the row's lock while the first pass ran wrote its file
    // then; none can come after (its route finds no recording).
    await this.deps.storage.deleteAssets(row.storageKey);
    return removed.length > 0;
  }

  /**
   * Places (hold) or releases a legal hold. Answers the recording and whether this call changed it: placing a
   * hold on a held recording replaces its reason, and releasing one that is not held changes nothing.
   */
  async setHold(
    admin: Identity,
    id: string,
    hold: { hold: true; reason: string } | { hold: false },
  ): Promise<{ recording: Recording; changed: boolean; previous: RecordingRow }> {
    const { db, clock, queries } = this.deps;
    const previous = await queries.rowById(id);
    if (!previous) throw notFound();
    if (!hold.hold && !previous.heldAt) return { recording: toResource(previous), changed: false, previous };
    const set = hold.hold
      ? // A hold placed again keeps its first heldAt and heldBy: the hold has lasted since then.
        {
          holdReason: hold.reason,
          heldAt: previous.heldAt ?? clock.now(),
          heldBy: previous.heldAt ? previous.heldBy : admin.id,
        }
      : { holdReason: null, heldAt: null, heldBy: null };
    const [updated] = await db.update(recordings).set(set).where(eq(recordings.id, id)).returning();
    if (!updated) throw notFound();
    return { recording: toResource(updated), changed: true, previous };
  }

  /**
   * Removes everything storage may hold for a recording, whatever its state:
   * an unfinished upload's parts and tails, and a finished object (which also exists when
   * a complete joined the parts but did not get to record it). All are idempotent.
   */
  private async discardStorage(row: RecordingRow): Promise<void> {
    await this.deps.strategy.discardUpload(row);
    await this.deps.storage.delete(row.storageKey);
    // Its thumbnails; the rows that index them (and its markers) go with the recording's row (on delete cascade).
    await this.deps.storage.deleteAssets(row.storageKey);
  }
}
