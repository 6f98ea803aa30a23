/**
 * Seals: each ready recording's file is hashed (SHA-256, one streaming pass over the stored file, as a
 * download reads it) and the result signed (keys.ts), so that anyone can later prove a file is the one
 * recorded. A job seals the ready recordings not yet sealed, oldest first, one replica at a time; a seal is
 * written in the same statement that marks its recording sealed, and only if the recording is still ready
 * and unsealed, so a recording deleted while it was hashed gets none.
 */
import { createHash, sign } from 'node:crypto';
import canonicalize from 'canonicalize';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Seal } from '@sortie/contract';
import type { Db } from '../db/client.js';
import { recordings, recordingSeals, type RecordingRow } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { LOCK_IDS, withJobLock } from '../jobs/lock.js';
import type { RecordingStorage } from '../storage/types.js';
import type { SealKeyring } from './keys.js';

/** The bytes a seal's signature covers: the seal without `signature`, in RFC 8785 (JCS) form, as UTF-8. */
export function sealPayload(seal: Omit<Seal, 'signature'>): Buffer {
  return Buffer.from(canonicalize(seal)!, 'utf8');
}

/** Recordings a run seals at most; the next run (seconds later) takes the rest. */
const SEALS_PER_RUN = 50;
/** A run stops taking new recordings after this long, so a backlog of large files does not hold the lock for ever. */
const RUN_BUDGET_MS = 60_000;

export interface SealDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  keys: SealKeyring;
  logger: Logger;
}

export class SealService {
  constructor(private readonly deps: SealDeps) {}

  /** The seal of a recording, or null while there is none (not ready, or not sealed yet). */
  async get(id: string): Promise<string | null> {
    const [row] = await this.deps.db
      .select({ seal: recordingSeals.seal })
      .from(recordingSeals)
      .where(eq(recordingSeals.recordingId, id));
    return row?.seal ?? null;
  }

  /** Seals ready recordings not yet sealed, under the job lock; answers how many it sealed (0 when another replica runs). */
  async run(): Promise<number> {
    const { db, clock } = this.deps;
    const res = await withJobLock(db, LOCK_IDS.sealer, async (tx) => {
      const started = clock.now().getTime();
      const pending = await tx
        .select()
        .from(recordings)
        .where(and(eq(recordings.status, 'ready'), isNull(recordings.sealedAt)))
        .orderBy(asc(recordings.completedAt))
        .limit(SEALS_PER_RUN);
      let sealed = 0;
      for (const row of pending) {
        // Each seal is written on its own connection: the lock's transaction holds no row, so an owner's
        // delete never waits for the hashing of other recordings.
        if (await this.sealOne(row)) sealed++;
        if (clock.now().getTime() - started > RUN_BUDGET_MS) break;
      }
      return sealed;
    });
    return res.acquired ? res.value : 0;
  }

  private async sealOne(row: RecordingRow): Promise<boolean> {
    const { db, storage, clock, keys, logger } = this.deps;
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of await storage.read(row.storageKey)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).byteLength;
      }
    } catch (err) {
      // Deleted while it was read (the next run finds it gone), or the store is down (the next run tries again).
      logger.warn('seal: the recording could not be read', { recordingId: row.id, err: String(err) });
      return false;
    }
    if (size !== row.sizeBytes)
      logger.warn('seal: the stored file is not the recorded size', {
        recordingId: row.id,
        size,
        sizeBytes: row.sizeBytes,
      });
    const signer = await keys.current();
    const sealedAt = clock.now();
    const body: Omit<Seal, 'signature'> = {
      recordingId: row.id,
      sha256: hash.digest('hex'),
      sizeBytes: size,
      durationMs: row.durationMs,
      mimeType: row.mimeType,
      userId: row.userId,
      sessionId: row.sessionId,
      createdAt: row.createdAt.toISOString(),
      endedAt: row.completedAt?.toISOString() ?? null,
      endedBy: row.endedBy,
      sealedAt: sealedAt.toISOString(),
      keyId: signer.kid,
    };
    const seal: Seal = { ...body, signature: sign(null, sealPayload(body), signer.key).toString('base64url') };
    const written = await db.execute(sql`
      with marked as (
        update ${recordings} set sealed_at = ${sealedAt.toISOString()}::timestamptz
        where id = ${row.id}::uuid and status = 'ready' and sealed_at is null
        returning id
      )
      insert into ${recordingSeals} (recording_id, seal, sealed_at)
      select id, ${JSON.stringify(seal)}, ${sealedAt.toISOString()}::timestamptz from marked
      returning recording_id`);
    return (written as unknown as unknown[]).length === 1;
  }
}
