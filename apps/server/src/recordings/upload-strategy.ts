/**
 * How parts reach storage, one strategy per kind of backend, chosen once when the service is built:
 *
 * - received (local disk): the service receives the bytes, so the database names every stored version of a part
 *   (its ETag and size); a part may be sent again while the parts are joined; a recording its client never
 *   finished is repaired part by part before the join.
 * - presigned (S3): the browser sends the bytes straight to the bucket on presigned URLs, so only the bucket knows
 *   what it holds (the database knows the sizes reserved); the tails a client sent beyond its last part fold into
 *   the object; the joined object itself is repaired, and gets its Duration written, after the join.
 *
 * The other rooms (parts.ts, finalize.ts, lifecycle.ts) call these and never ask which backend they run on.
 */
import type { PartsUrl } from '@sortie/contract';
import type { Db } from '../db/client.js';
import { recordingParts, type EndedBy, type RecordingRow } from '../db/schema.js';
import { eq } from 'drizzle-orm';
import { DomainError, badRequest, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { normalizeEtag, type PartReceiver, type RecordingStorage, type StoredPart } from '../storage/types.js';
import { isWebm, repairWebm } from './repair.js';
import { repairWebmObject, writeDurationObject } from './repair-object.js';
import { DISK_FULL_RETRY_SECONDS } from './resource.js';
import { foldTails, type TailDeps } from './tails.js';

/** Lifetime of the URLs a client PUTs parts to. */
export const PART_URL_TTL_SECONDS = 15 * 60;

/** A part as the client lists it at complete. */
export interface PartRef {
  partNumber: number;
  etag: string;
}

/** A row of recording_parts: a part requested, and (received parts) the version stored. */
export type PartRow = typeof recordingParts.$inferSelect;

/** What storage holds of an unfinished upload, by part number; null when the backend could not say. */
export type HeldParts = Map<number, StoredPart> | null;

export interface UploadStrategy {
  /** A part's size is what was reserved for it (its bytes bypass the service), for the size rules' sums. */
  readonly sizeFromReservations: boolean;
  /** The service writes the Duration into a finished object at complete (RecordingConfig.writesDuration). */
  readonly writesDuration: boolean;
  /** Refuses a part whose bytes would leave the disk below its reserve (507). */
  assertRoomFor(sizeBytes: number): Promise<void>;
  /** (extension) The recording's parts URL, `${url}/${partNumber}` taking a part in one request; null on S3. */
  partsUrl(rec: { id: string; userId: string; storageKey: string }, origin: string): Promise<PartsUrl | null>;
  /** The part receiver; on a backend the bytes bypass, 404 with `why`. */
  receiving(why: string): PartReceiver;
  /** The parts stored for an unfinished recording, in order. */
  storedParts(row: RecordingRow): Promise<StoredPart[]>;
  /** The client's list at complete, with what storage holds when this had to list it (undefined: not listed). */
  partsForComplete(
    row: RecordingRow,
    parts: PartRef[],
    endedBy: EndedBy,
  ): Promise<{ parts: PartRef[]; held?: HeldParts }>;
  /** Finalizing without the client: the tails after `parts` become its last part (S3; tails.ts). */
  foldTails(row: RecordingRow, parts: StoredPart[]): Promise<StoredPart[]>;
  /**
   * What storage holds for each requested part, to check the client's ETags and the sizes against; throws for a
   * part not received. `held`: a listing already made for this complete.
   */
  partLookup(
    row: RecordingRow,
    stored: PartRow[],
    held?: HeldParts,
  ): Promise<(s: PartRow) => { etag: string; sizeBytes: number } | undefined>;
  /** Before the join: a recording finalized without its client, repaired where its parts pass through the service. */
  beforeJoin(
    row: RecordingRow,
    parts: PartRef[],
    endedBy: EndedBy,
    durationMs: number | null,
  ): Promise<{ parts: PartRef[]; durationMs: number | null }>;
  /** After the join: the finished object repaired, or its Duration written, where the service never held the parts. */
  afterJoin(
    row: RecordingRow,
    endedBy: EndedBy,
    sizeBytes: number,
    durationMs: number | null,
  ): Promise<{ sizeBytes: number; durationMs: number | null }>;
  /** The part versions a join must still find current to be the recording; undefined where parts have one version. */
  joinedVersions(parts: PartRef[]): PartRef[] | undefined;
  /** Once ready: what the upload left beside the object goes. */
  afterReady(row: RecordingRow): Promise<void>;
  /** Discards an upload's parts and tails, whatever the recording's state. */
  discardUpload(row: RecordingRow): Promise<void>;
}

export interface UploadStrategyDeps extends TailDeps {
  logger: Logger;
  /** SORTIE_RECORDING_MIN_FREE_MB in bytes. */
  minFreeBytes: number;
}

/** The strategy of `deps.storage`: received where the backend takes part bodies itself, else presigned. */
export function uploadStrategyFor(deps: UploadStrategyDeps): UploadStrategy {
  const receiver = deps.storage.receiver;
  return receiver ? new ReceivedUploads(deps, receiver) : new PresignedUploads(deps);
}

function notReceived(partNumber: number): DomainError {
  return badRequest(`Part ${partNumber} has not been received.`);
}

/** The local disk: the service receives each part's bytes and the database names the version that is the part. */
class ReceivedUploads implements UploadStrategy {
  readonly sizeFromReservations = false;
  readonly writesDuration = false;
  private readonly db: Db;
  private readonly storage: RecordingStorage;
  private readonly clock: Clock;

  constructor(
    private readonly deps: UploadStrategyDeps,
    private readonly receiver: PartReceiver,
  ) {
    this.db = deps.db;
    this.storage = deps.storage;
    this.clock = deps.clock;
  }

  async assertRoomFor(sizeBytes: number): Promise<void> {
    // A part over the size limit is the size rules' to refuse (413), whatever room the disk has.
    if (sizeBytes > this.deps.maxSizeBytes) return;
    // On a fresh figure that counts the writes under way; the PUT's write still reserves its bytes before reading
    // them, which is what holds the reserve exactly.
    const free = await this.receiver.freeBytes();
    if (free - sizeBytes < this.deps.minFreeBytes) {
      throw new DomainError('insufficient_storage', 'The recordings disk is full; send this part again later.', {
        retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
      });
    }
  }

  async partsUrl(rec: { id: string; userId: string; storageKey: string }, origin: string): Promise<PartsUrl> {
    const expiresAt = new Date(this.clock.now().getTime() + PART_URL_TTL_SECONDS * 1000);
    const target = await this.receiver.presignParts({
      recordingId: rec.id,
      userId: rec.userId,
      key: rec.storageKey,
      expiresInSeconds: PART_URL_TTL_SECONDS,
      origin,
    });
    return { url: target.url, method: 'PUT', headers: target.headers, expiresAt: expiresAt.toISOString() };
  }

  receiving(): PartReceiver {
    return this.receiver;
  }

  /**
   * The database is the one source of truth: it names the version of each part; other files in the folder are
   * versions on their way in or out.
   */
  async storedParts(row: RecordingRow): Promise<StoredPart[]> {
    const rows = await this.db
      .select()
      .from(recordingParts)
      .where(eq(recordingParts.recordingId, row.id))
      .orderBy(recordingParts.partNumber);
    return rows.flatMap((r) =>
      r.etag !== null && r.storedSize !== null
        ? [{ partNumber: r.partNumber, etag: r.etag, sizeBytes: r.storedSize }]
        : [],
    );
  }

  async partsForComplete(_row: RecordingRow, parts: PartRef[]): Promise<{ parts: PartRef[] }> {
    return { parts };
  }

  async foldTails(_row: RecordingRow, parts: StoredPart[]): Promise<StoredPart[]> {
    return parts;
  }

  async partLookup(): Promise<(s: PartRow) => { etag: string; sizeBytes: number }> {
    return (s) => {
      if (s.etag === null) throw notReceived(s.partNumber);
      return { etag: s.etag, sizeBytes: s.storedSize ?? s.declaredSize };
    };
  }

  async beforeJoin(row: RecordingRow, parts: PartRef[], endedBy: EndedBy, durationMs: number | null) {
    // Finalized without its client (a beacon, the sweeper): an incomplete trailing block is cut and the Duration
    // written (repair.ts).
    if (endedBy === 'stop' || endedBy === 'size_limit' || !isWebm(row)) return { parts, durationMs };
    const { db, clock, logger } = this.deps;
    const repaired = await repairWebm({ db, clock, receiver: this.receiver, logger, row, parts });
    return { parts: repaired.parts, durationMs: durationMs ?? repaired.durationMs };
  }

  async afterJoin(_row: RecordingRow, _endedBy: EndedBy, sizeBytes: number, durationMs: number | null) {
    return { sizeBytes, durationMs };
  }

  /** A part received through the service can be sent again while the parts are joined. */
  joinedVersions(parts: PartRef[]): PartRef[] {
    return parts;
  }

  /** The parts are in the object now: the part folder goes. */
  async afterReady(row: RecordingRow): Promise<void> {
    await this.storage.abortUpload({ key: row.storageKey, uploadId: null });
  }

  /** A ready recording's folder was removed when it became ready, unless a crash came between: removing it is idempotent. */
  async discardUpload(row: RecordingRow): Promise<void> {
    await this.storage.abortUpload({ key: row.storageKey, uploadId: row.status === 'ready' ? null : row.uploadId });
  }
}

/** S3: the bytes go from the browser to the bucket on presigned URLs; the bucket's listing says what is stored. */
class PresignedUploads implements UploadStrategy {
  readonly sizeFromReservations = true;
  readonly writesDuration: boolean;
  private readonly storage: RecordingStorage;

  constructor(private readonly deps: UploadStrategyDeps) {
    this.storage = deps.storage;
    // Where the service can rewrite a finished object, it writes the Duration at complete (repair-object.ts).
    this.writesDuration = deps.storage.rewriteObject !== undefined;
  }

  async assertRoomFor(): Promise<void> {}

  async partsUrl(): Promise<null> {
    return null;
  }

  receiving(why: string): never {
    throw notFound(why);
  }

  storedParts(row: RecordingRow): Promise<StoredPart[]> {
    return this.storage.listParts({ key: row.storageKey, uploadId: row.uploadId });
  }

  /**
   * Ended by its size limit, a recording may have had its last part refused (413) with its bytes still in tails:
   * they go into the object up to the limit, as the sweeper's would (tails.ts, foldTails).
   */
  async partsForComplete(
    row: RecordingRow,
    parts: PartRef[],
    endedBy: EndedBy,
  ): Promise<{ parts: PartRef[]; held?: HeldParts }> {
    if (endedBy !== 'size_limit' || !this.storage.tails) return { parts };
    return this.withTailsAfter(row, parts);
  }

  /** `parts` and, when they are the stored run 1..n, the tails after them folded in as part n+1. */
  private async withTailsAfter(row: RecordingRow, parts: PartRef[]): Promise<{ parts: PartRef[]; held?: HeldParts }> {
    const held = await this.heldParts(row);
    // Unlisted: finalize asks again.
    if (!held) return { parts };
    const run: StoredPart[] = [];
    for (const [i, p] of [...parts].sort((a, b) => a.partNumber - b.partNumber).entries()) {
      const h = held.get(p.partNumber);
      // Anything else is finalize's to refuse, with its own message.
      if (p.partNumber !== i + 1 || !h || normalizeEtag(h.etag) !== normalizeEtag(p.etag)) return { parts, held };
      run.push(h);
    }
    const folded = await this.foldTails(row, run);
    // The folded part is held now too, as a listing made after the fold would say.
    const after = new Map(held);
    for (const p of folded) after.set(p.partNumber, p);
    return { parts: folded.map((p) => ({ partNumber: p.partNumber, etag: p.etag })), held: after };
  }

  foldTails(row: RecordingRow, parts: StoredPart[]): Promise<StoredPart[]> {
    return foldTails(this.deps, row, parts);
  }

  /**
   * Asks storage what it holds where any part's bytes bypassed the service: a declared size is only a promise,
   * and a URL issued for a larger size may still be valid.
   */
  async partLookup(
    row: RecordingRow,
    stored: PartRow[],
    given?: HeldParts,
  ): Promise<(s: PartRow) => { etag: string; sizeBytes: number } | undefined> {
    const held = stored.some((s) => s.etag === null) ? (given === undefined ? await this.heldParts(row) : given) : null;
    return (s) => {
      const actual =
        s.etag !== null ? { etag: s.etag, sizeBytes: s.storedSize ?? s.declaredSize } : held?.get(s.partNumber);
      if (held && !actual) throw notReceived(s.partNumber);
      return actual;
    };
  }

  /**
   * What storage holds for an unfinished upload, by part number; null when the backend cannot list parts (then
   * the declared sizes are the best known, and S3's own ETag check at completion still guards the bytes).
   */
  private async heldParts(row: RecordingRow): Promise<HeldParts> {
    try {
      return new Map(
        (await this.storage.listParts({ key: row.storageKey, uploadId: row.uploadId })).map((p) => [p.partNumber, p]),
      );
    } catch {
      return null;
    }
  }

  async beforeJoin(_row: RecordingRow, parts: PartRef[], _endedBy: EndedBy, durationMs: number | null) {
    return { parts, durationMs };
  }

  /**
   * The service never held the parts: the finished object itself is repaired (repair-object.ts); after a normal
   * stop the SDK leaves the Duration to the service (RecordingConfig.writesDuration).
   */
  async afterJoin(row: RecordingRow, endedBy: EndedBy, sizeBytes: number, durationMs: number | null) {
    if (!this.storage.rewriteObject || !isWebm(row)) return { sizeBytes, durationMs };
    const { storage, logger } = this.deps;
    if (endedBy !== 'stop') {
      const fixed = await repairWebmObject({ storage, logger, row, sizeBytes });
      return { sizeBytes: fixed.sizeBytes, durationMs: durationMs ?? fixed.durationMs };
    }
    if (durationMs === null) return { sizeBytes, durationMs };
    return { sizeBytes: await writeDurationObject({ storage, logger, row, sizeBytes, durationMs }), durationMs };
  }

  /** A part on S3 has one version: completeUpload consumed them. */
  joinedVersions(): undefined {
    return undefined;
  }

  /** The tails were copies of bytes now in the object (docs/bounded-loss.md); one left behind costs only space. */
  async afterReady(row: RecordingRow): Promise<void> {
    await this.storage.tails?.deleteTails(row.id).catch((err: unknown) => {
      this.deps.logger.warn('tail objects not deleted', { recordingId: row.id, err: String(err) });
    });
  }

  /** A ready recording's multipart upload was consumed when it became ready. */
  async discardUpload(row: RecordingRow): Promise<void> {
    if (row.status !== 'ready') await this.storage.abortUpload({ key: row.storageKey, uploadId: row.uploadId });
    await this.storage.tails?.deleteTails(row.id);
  }
}
