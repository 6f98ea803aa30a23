/**
 * Finishing a recording: the client's complete (its part list checked against what is stored), and the same
 * finalize for the sweeper and a beacon's end, which repair what they join (upload-strategy.ts says how on each
 * backend). Every transition to ready is conditional on the state it starts from, so complete, fail, delete and
 * the sweeper can race safely.
 */
import { eq } from 'drizzle-orm';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type EndedBy, type RecordingRow } from '../db/schema.js';
import { DomainError, badRequest, conflict, notFound, tooLarge } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { InsufficientStorageError, InvalidPartError, normalizeEtag, type RecordingStorage } from '../storage/types.js';
import type { RecordingQueries } from './queries.js';
import { DISK_FULL_RETRY_SECONDS, OPEN, toResource, type Recording } from './resource.js';
import type { HeldParts, PartRef, UploadStrategy } from './upload-strategy.js';

export interface FinalizeDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  strategy: UploadStrategy;
  queries: RecordingQueries;
  /** SORTIE_RECORDING_MAX_SIZE_MB in bytes. */
  maxSizeBytes: number;
}

export class Finalizer {
  constructor(private readonly deps: FinalizeDeps) {}

  /**
   * Checks the client's part list against what is stored, assembles the
   * parts and marks the recording ready. Idempotent: a ready recording is
   * answered as it is.
   */
  async complete(
    user: Identity,
    id: string,
    input: { durationMs: number | null; parts: PartRef[]; endedBy?: 'stop' | 'size_limit' },
  ): Promise<Recording> {
    const row = await this.deps.queries.getRow(user, id, 'own');
    if (row.status === 'ready') return toResource(row);
    if (row.status === 'failed') throw conflict('Recording has failed; it cannot be completed.');
    const endedBy = input.endedBy ?? 'stop';
    const { parts, held } = await this.deps.strategy.partsForComplete(row, input.parts, endedBy);
    return this.finalize(row, input.durationMs, parts, endedBy, held);
  }

  /**
   * Shared by complete and the sweeper: validate, assemble, mark ready. `held`: what storage holds, where the
   * caller has listed it already.
   */
  async finalize(
    row: RecordingRow,
    durationMsIn: number | null,
    partsIn: PartRef[],
    endedBy: EndedBy,
    held?: HeldParts,
  ): Promise<Recording> {
    const { strategy } = this.deps;
    const sorted = [...partsIn].sort((a, b) => a.partNumber - b.partNumber);
    await this.checkParts(row, sorted, held);
    const { parts, durationMs } = await strategy.beforeJoin(row, sorted, endedBy, durationMsIn);
    let joined;
    try {
      joined = await this.deps.storage.completeUpload({ key: row.storageKey, uploadId: row.uploadId, parts });
    } catch (err) {
      return this.joinFailed(err, row, parts);
    }
    const result = await strategy.afterJoin(row, endedBy, joined.sizeBytes, durationMs);
    return this.markReady(row, result.sizeBytes, result.durationMs, endedBy, strategy.joinedVersions(parts));
  }

  /** The list is whole (1..n), every part stored with the ETag given and long enough, and the total within the limit. */
  private async checkParts(row: RecordingRow, parts: PartRef[], held: HeldParts | undefined): Promise<void> {
    const { db, storage, maxSizeBytes } = this.deps;
    if (parts.length === 0) throw badRequest('parts must list at least one part.');
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1)
        throw badRequest(
          `parts must be numbered 1..${parts.length} with no gap or repeat; part ${i + 1} is missing or repeated.`,
        );
    });
    const stored = await db.select().from(recordingParts).where(eq(recordingParts.recordingId, row.id));
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
    const actualOf = await this.deps.strategy.partLookup(row, stored, held);
    let total = 0;
    parts.forEach((p, i) => {
      const s = byNumber.get(p.partNumber);
      if (!s) throw badRequest(`Part ${p.partNumber} was never requested.`);
      const actual = actualOf(s);
      if (actual && normalizeEtag(actual.etag) !== normalizeEtag(p.etag)) {
        throw badRequest(`The ETag of part ${p.partNumber} does not match the stored part.`);
      }
      const size = actual?.sizeBytes ?? s.declaredSize;
      if (i < parts.length - 1 && size < storage.minPartSizeBytes) {
        throw badRequest(
          `Part ${p.partNumber} is ${size} bytes; every part but the last must be at least ${storage.minPartSizeBytes} bytes.`,
        );
      }
      total += size;
    });
    if (total > maxSizeBytes)
      throw tooLarge(`The parts add up to ${total} bytes, over the limit of ${maxSizeBytes} bytes.`);
  }

  /** Why a join failed, as the client is told; a join that lost its race to a fail or delete settles it. */
  private async joinFailed(err: unknown, row: RecordingRow, parts: PartRef[]): Promise<Recording> {
    // A fail or delete that ran meanwhile discarded the parts under us.
    const current = await this.deps.queries.rowById(row.id);
    if (!current || !OPEN.includes(current.status)) return this.settleLostRace(row);
    if (err instanceof InvalidPartError) {
      // The part was sent again while joining, and its old version is gone: nothing is lost, the new one is stored.
      const versions = this.deps.strategy.joinedVersions(parts);
      if (versions && !(await partsUnchanged(this.deps.db, row.id, versions))) throw partChangedWhileCompleting();
      throw badRequest(err.message);
    }
    if (err instanceof InsufficientStorageError) {
      throw new DomainError(
        'insufficient_storage',
        'The recordings disk is too full to assemble this recording; complete it again later. Its parts are kept.',
        { retryAfterSeconds: DISK_FULL_RETRY_SECONDS },
      );
    }
    throw err;
  }

  /**
   * Records a joined object as the ready recording and forgets its parts, if
   * the recording is still open: every transition is conditional on the state
   * it starts from, so complete, fail, delete and the sweeper can race safely.
   * `joined`: the part versions the object was joined from, where parts can be sent again meanwhile.
   */
  async markReady(
    row: RecordingRow,
    sizeBytes: number,
    durationMs: number | null,
    endedBy: EndedBy,
    joined?: PartRef[],
  ): Promise<Recording> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(recordings).where(eq(recordings.id, row.id)).for('update');
      if (!locked || !OPEN.includes(locked.status)) return null;
      // The joined object is only the recording if every part is still the version it joined.
      if (joined && !(await partsUnchanged(tx, row.id, joined))) return 'changed' as const;
      const [updated] = await tx
        .update(recordings)
        // A client's complete after a beacon keeps the beacon's account of how it ended.
        .set({
          status: 'ready',
          sizeBytes,
          durationMs,
          completedAt: now,
          updatedAt: now,
          uploadId: null,
          endedBy: locked.endedBy ?? endedBy,
        })
        .where(eq(recordings.id, row.id))
        .returning();
      await tx.delete(recordingParts).where(eq(recordingParts.recordingId, row.id));
      return updated!;
    });
    if (outcome === null) return this.settleLostRace(row);
    if (outcome === 'changed') {
      // The parts (the newer version included) stay; the stale join goes.
      await this.deps.storage.delete(row.storageKey).catch(() => {});
      throw partChangedWhileCompleting();
    }
    await this.deps.strategy.afterReady(row);
    return toResource(outcome);
  }

  /**
   * A complete that found the recording no longer open: another complete won
   * (answer its ready recording, the same object), or a fail or delete did (the
   * object this complete may have joined belongs to nothing: remove it).
   */
  private async settleLostRace(row: RecordingRow): Promise<Recording> {
    const current = await this.deps.queries.rowById(row.id);
    if (current?.status === 'ready') return toResource(current);
    await this.deps.storage.delete(row.storageKey);
    if (!current) throw notFound();
    throw conflict(`Recording is ${current.status}; it cannot be completed.`);
  }
}

/** Whether the database still names, for each part, the ETag given (no part was sent again meanwhile). */
async function partsUnchanged(db: Db, id: string, parts: PartRef[]): Promise<boolean> {
  const rows = await db.select().from(recordingParts).where(eq(recordingParts.recordingId, id));
  const byNumber = new Map(rows.map((r) => [r.partNumber, r.etag]));
  return parts.every((p) => {
    const etag = byNumber.get(p.partNumber);
    return etag != null && normalizeEtag(etag) === normalizeEtag(p.etag);
  });
}

function partChangedWhileCompleting(): DomainError {
  return conflict(
    'A part was sent again while the recording was being completed; complete it again with the new ETag.',
  );
}
