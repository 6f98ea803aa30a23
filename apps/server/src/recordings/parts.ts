/**
 * Reserving and accepting: a new recording, each part's reservation under the size rules (the recording's limit,
 * the user's open recordings and reserved bytes), the URL to send it to, and, where the service receives the
 * bytes (upload-strategy.ts), the bytes themselves. The part path runs statements rendered once (db/statements.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, sql } from 'drizzle-orm';
import type { PartsUrl, TailTargets } from '@sortie/contract';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type RecordingRow } from '../db/schema.js';
import {
  createRecordingStatement,
  recordingFromColumns,
  recordStoredPartStatement,
  requestPartStatement,
  runPrepared,
  type RequestPartRow,
} from '../db/statements.js';
import { DomainError, badRequest, conflict, notFound, tooLarge } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { BodyTimeoutError, createBodyWatchdog } from '../uploads/body-watchdog.js';
import type { UploadGate } from '../uploads/gate.js';
import {
  InsufficientStorageError,
  PartIncompleteError,
  PartTooLargeError,
  keyFor,
  type PartReceiver,
  type PartTarget,
  type RecordingStorage,
  type StoredPart,
} from '../storage/types.js';
import type { RecordingQueries } from './queries.js';
import { DISK_FULL_RETRY_SECONDS, OPEN } from './resource.js';
import { issueTailUrls, type TailDeps } from './tails.js';
import { PART_URL_TTL_SECONDS, type UploadStrategy } from './upload-strategy.js';

/** Limits on bodies received through the service (SORTIE_UPLOAD_*). */
export interface UploadLimits {
  maxConcurrent: number;
  maxConcurrentPerUser: number;
  maxConcurrentPerPart?: number;
  idleTimeoutMs: number;
  minBytesPerSecond: number;
}

export interface PartsDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  strategy: UploadStrategy;
  queries: RecordingQueries;
  /** Shared by every copy of the service: the caps are per process. */
  gate: UploadGate;
  uploads: UploadLimits;
  /** SORTIE_RECORDING_MAX_SIZE_MB in bytes. */
  maxSizeBytes: number;
  /** Per-user caps (SORTIE_RECORDING_MAX_OPEN_PER_USER, SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER). */
  perUser?: { maxOpenRecordings: number; maxReservedBytes: number } | undefined;
  tails: TailDeps;
}

/** The claims of a part URL the service signed: the part, its size, and (current URLs) its owner and key. */
type PartClaims = { recordingId: string; partNumber: number; sizeBytes: number; userId?: string; key?: string };

export class PartsService {
  private hot: ReturnType<PartsService['buildHotStatements']> | undefined;

  constructor(private readonly deps: PartsDeps) {}

  /** Highest part number accepted (S3: 10 000). */
  get maxParts(): number {
    return this.deps.storage.maxParts;
  }

  /**
   * The statements of the part path (a part URL, a part's bytes), built once per service:
   * per part, no query building, and postgres-js runs them as named prepared statements.
   */
  private hotStatements() {
    return (this.hot ??= this.buildHotStatements());
  }

  private buildHotStatements() {
    const { db, maxSizeBytes, strategy } = this.deps;
    return {
      /** acceptPart: the recording and the size its part was last requested at, in one round trip. */
      partTarget: db
        .select({ row: recordings, declaredSize: recordingParts.declaredSize })
        .from(recordings)
        .leftJoin(
          recordingParts,
          and(
            eq(recordingParts.recordingId, recordings.id),
            eq(recordingParts.partNumber, sql.placeholder('partNumber')),
          ),
        )
        .where(eq(recordings.id, sql.placeholder('id')))
        .prepare('sortie_part_target'),
      createRecording: createRecordingStatement(),
      requestPart: requestPartStatement(maxSizeBytes, strategy.sizeFromReservations),
      recordStoredPart: recordStoredPartStatement(),
    };
  }

  /** A new recording, answering the row (the route also needs its storage key, for the parts URL). */
  async createRow(user: Identity, input: { sessionId: string; mimeType: string }): Promise<RecordingRow> {
    const { storage, clock } = this.deps;
    const id = randomUUID();
    const key = keyFor(id, input.mimeType);
    const uploadId = await storage.createUpload(key, input.mimeType);
    const cap = this.deps.perUser?.maxOpenRecordings;
    try {
      // One round trip: sortie_create_recording (migration 0006) takes the user's lock, counts
      // their open recordings after it, and inserts.
      const [raw] = await runPrepared<Record<string, unknown>>(this.deps.db, this.hotStatements().createRecording, {
        id,
        sessionId: input.sessionId,
        userId: user.id,
        userName: user.name ?? null,
        mimeType: input.mimeType,
        storageKey: key,
        uploadId,
        at: clock.now().toISOString(),
        maxOpen: cap ?? null,
      });
      if (!raw) {
        throw new DomainError(
          'too_many_requests',
          `You have ${cap} recordings open already, the most allowed; stop or complete one first.`,
          { retryAfterSeconds: 60 },
        );
      }
      return recordingFromColumns(raw);
    } catch (err) {
      // No row will ever name this upload, so nothing (the sweeper included) would clean it up: discard it now
      // (the local parts folder, the S3 multipart upload), then report the original failure.
      await storage.abortUpload({ key, uploadId }).catch(() => {});
      throw err;
    }
  }

  /**
   * Reserves part `partNumber` of `sizeBytes` and says where to send it.
   * The size rules count, for every part, the larger of its declared and its
   * stored size (a part asked for again smaller still holds its old bytes
   * until the new ones replace them), so the limits hold before a byte is sent.
   */
  async requestPart(
    user: Identity,
    id: string,
    partNumber: number,
    sizeBytes: number,
    origin: string,
  ): Promise<{ target: PartTarget; expiresAt: Date; partsUrl: PartsUrl | null }> {
    const row = await this.reservePart(user.id, id, partNumber, sizeBytes);
    const expiresAt = new Date(this.deps.clock.now().getTime() + PART_URL_TTL_SECONDS * 1000);
    // The backend makes the URL: presigned S3 UploadPart, or a signed URL back to this service.
    const target = await this.deps.storage.presignPart({
      recordingId: id,
      userId: user.id,
      key: row.storage_key,
      uploadId: row.upload_id,
      partNumber,
      sizeBytes,
      expiresInSeconds: PART_URL_TTL_SECONDS,
      origin,
    });
    // A fresh parts URL with each part URL: a client on the one-request path renews it this way near its expiry.
    const partsUrl = await this.partsUrl({ id, userId: user.id, storageKey: row.storage_key }, origin);
    return { target, expiresAt, partsUrl };
  }

  /**
   * (extension) The recording's parts URL on a backend that receives parts itself (local):
   * `${url}/${partNumber}` takes a part in one request (receivePart). null on S3.
   */
  partsUrl(rec: { id: string; userId: string; storageKey: string }, origin: string): Promise<PartsUrl | null> {
    return this.deps.strategy.partsUrl(rec, origin);
  }

  /** The claims of a part URL this service signed, or null when forged or expired; 404 where it signs none. */
  verifyPartUrl(token: string): Promise<PartClaims | null> {
    return this.deps.strategy.receiving('No such route.').verifyPartUrl(token);
  }

  /** The claims of a parts URL this service signed, or null when forged or expired; 404 where it signs none. */
  verifyPartsUrl(token: string): Promise<{ recordingId: string; userId: string; key: string } | null> {
    return this.deps.strategy.receiving('No such route.').verifyPartsUrl(token);
  }

  /**
   * (extension) A part in one request, through a parts URL: the reservation POST /parts
   * makes (the same checks, the same limits, before a byte is read), then the bytes as
   * acceptPart takes them. One HTTP request a part instead of two.
   */
  async receivePart(
    signed: { recordingId: string; userId: string; key: string },
    partNumber: number,
    sizeBytes: number,
    body: Readable,
  ): Promise<{ etag: string }> {
    // No free-space check before the reservation: the write reserves its bytes before reading one (writePart).
    const row = await this.reservePart(signed.userId, signed.recordingId, partNumber, sizeBytes, false);
    return this.acceptPart(signed.recordingId, partNumber, sizeBytes, body, {
      userId: signed.userId,
      key: row.storage_key,
    });
  }

  /**
   * Reserves part `partNumber` of `sizeBytes` of recording `id` of user `userId`: the
   * checks and limits of POST /parts. Answers the recording's storage key and upload id.
   */
  private async reservePart(
    userId: string,
    id: string,
    partNumber: number,
    sizeBytes: number,
    checkFreeSpace = true,
  ): Promise<{ storage_key: string; upload_id: string | null }> {
    const { maxSizeBytes } = this.deps;
    if (partNumber > this.maxParts) throw badRequest(`partNumber must be from 1 to ${this.maxParts}.`);
    // A part URL whose PUT would find no room is refused now.
    if (checkFreeSpace) await this.deps.strategy.assertRoomFor(sizeBytes);
    // Sum and reserve under the recording's row lock (and the user's lock, for the per-user
    // cap): parallel /parts requests, or replicas, must not each see room for themselves.
    // One round trip: sortie_request_part (migration 0005) takes the locks, then reads the
    // sums with a snapshot taken after they were granted, then reserves.
    const userCap = this.deps.perUser?.maxReservedBytes;
    const [row] = await runPrepared<RequestPartRow>(this.deps.db, this.hotStatements().requestPart, {
      id,
      userId,
      partNumber,
      sizeBytes,
      at: this.deps.clock.now().toISOString(),
      userCap: userCap ?? null,
    });
    if (!row || row.user_id !== userId) throw notFound();
    if (!OPEN.includes(row.status)) throw conflict(`Recording is ${row.status}; it takes no more parts.`);
    if (row.reserved !== 1) {
      // This part's earlier version stays stored until the new one replaces it: this_part is the larger; on S3
      // it also holds the recording's tails beyond those this part replaces (migration 0013).
      const thisPart = Number(row.this_part ?? sizeBytes);
      const total = Number(row.others ?? 0) + thisPart;
      if (total > maxSizeBytes) {
        throw tooLarge(
          `This part would take the recording to ${total} bytes, over the limit of ${maxSizeBytes} bytes.`,
        );
      }
      const userTotal = Number(row.user_others ?? 0) + thisPart;
      throw tooLarge(
        `This part would take your open recordings to ${userTotal} bytes, over your limit of ${userCap} bytes; complete one first.`,
      );
    }
    return row;
  }

  /**
   * Receives a part's bytes through the service (backends with a receiver).
   *
   * The URL must still be the latest one issued for that part: re-requesting a
   * part at another size supersedes older URLs, so none can pass the limit.
   * The bytes are stored as a new version beside the old; then, under the
   * recording's row lock, the database records the new version's ETag as the
   * part and the version it replaces is deleted. The database is the one
   * source of truth for which bytes are the part: parallel PUTs of one part
   * each store their own version, the last to commit is the part, and every
   * other version is deleted by the commit that superseded it.
   */
  async acceptPart(
    id: string,
    partNumber: number,
    sizeBytes: number,
    body: Readable,
    signed: { userId?: string; key?: string } = {},
  ): Promise<{ etag: string }> {
    const receiver = this.deps.strategy.receiving('This backend receives no parts through the service.');
    const row = await this.partTarget(id, partNumber, sizeBytes, signed);
    const stored = await this.writeReceived(receiver, row, id, partNumber, sizeBytes, body);
    const outcome = await this.recordStoredPart(id, partNumber, sizeBytes, stored, this.deps.clock.now());
    if ('refused' in outcome) {
      // These bytes belong to nothing: only this version goes, every other stays as the database says.
      await receiver.discardPart({ key: row.storageKey, partNumber, etag: stored.etag });
      // A recording no longer open had its parts folder removed (complete, fail, delete); this PUT
      // made it again: it goes too, once empty (another late PUT's file keeps it, and that PUT removes it).
      if (outcome.closed) await receiver.discardEmptyParts?.({ key: row.storageKey });
      throw conflict(outcome.refused);
    }
    // After the commit, so a failed commit never leaves the database naming a deleted file; a crash
    // just here leaves one orphan version, which complete, fail, delete and the sweeper remove with the folder.
    if (outcome.superseded && outcome.superseded !== stored.etag) {
      await receiver.discardPart({ key: row.storageKey, partNumber, etag: outcome.superseded });
    }
    return { etag: stored.etag };
  }

  /** The owner and storage key a part's bytes go to. */
  private async partTarget(
    id: string,
    partNumber: number,
    sizeBytes: number,
    signed: { userId?: string; key?: string },
  ): Promise<{ userId: string; storageKey: string }> {
    if (signed.userId !== undefined && signed.key !== undefined) {
      // The URL (signed by this deployment) names the owner and the storage key: no lookup
      // before the bytes. Whether the recording is still open and this URL still the part's
      // latest is checked where it decides, under the row lock in recordStoredPart; bytes
      // it refuses are deleted. One round trip a part fewer.
      return { userId: signed.userId, storageKey: signed.key };
    }
    // A URL from an earlier release: the recording and the size its part was last requested at.
    const [found] = await this.hotStatements().partTarget.execute({ id, partNumber });
    if (!found) throw notFound();
    if (!OPEN.includes(found.row.status)) throw conflict(`Recording is ${found.row.status}; it takes no more parts.`);
    if (found.declaredSize !== sizeBytes) {
      throw conflict(
        `Part ${partNumber} has been requested again since this URL was issued; send it to the newer URL.`,
      );
    }
    return found.row;
  }

  /** Writes the body as a new version of the part, under the upload gate and the body watchdog. */
  private async writeReceived(
    receiver: PartReceiver,
    row: { userId: string; storageKey: string },
    id: string,
    partNumber: number,
    sizeBytes: number,
    body: Readable,
  ): Promise<StoredPart> {
    const release = this.deps.gate.acquire(row.userId, id, partNumber);
    const watchdog = createBodyWatchdog(this.deps.uploads);
    try {
      return await receiver.writePart({
        key: row.storageKey,
        partNumber,
        sizeBytes,
        body,
        signal: watchdog.signal,
        onData: (bytes) => {
          watchdog.seen(bytes);
          release.touch();
        },
      });
    } catch (err) {
      throw await this.writeError(err, id, sizeBytes);
    } finally {
      watchdog.stop();
      release();
    }
  }

  /** What a failed part write answers the client. */
  private async writeError(err: unknown, id: string, sizeBytes: number): Promise<unknown> {
    if (err instanceof PartTooLargeError)
      return new DomainError(
        'payload_too_large',
        `The body is longer than the ${sizeBytes} bytes this URL was issued for.`,
      );
    if (err instanceof PartIncompleteError)
      return badRequest(`The body ended before the ${sizeBytes} bytes this URL was issued for; send the part again.`);
    if (err instanceof BodyTimeoutError)
      return new DomainError('request_timeout', `${err.message} Send the part again.`);
    if (err instanceof InsufficientStorageError) {
      return new DomainError(
        'insufficient_storage',
        'The recordings disk is full; this part was not stored (its earlier version, if any, is kept). Send it again later.',
        { retryAfterSeconds: DISK_FULL_RETRY_SECONDS },
      );
    }
    // A complete, fail or delete that ran meanwhile removed the upload under us.
    const now = await this.deps.queries.rowById(id);
    if (!now || !OPEN.includes(now.status))
      return conflict(`Recording is ${now?.status ?? 'gone'}; it takes no more parts.`);
    return err;
  }

  /**
   * Records a received version as the part, in one statement (one round trip, one
   * implicit transaction): under the recording's row lock (taken first, as
   * requestPart, complete and fail take it), only while the recording is open and
   * the part's latest request is still for this size. The recording's size moves by
   * the difference from the version replaced, computed on the row versions the locks
   * return (a sum over the parts here would read the statement's snapshot, taken
   * before the lock, and miss a part committed while this one waited for it).
   * Answers the version it replaced, or why it refused.
   */
  private async recordStoredPart(
    id: string,
    partNumber: number,
    sizeBytes: number,
    stored: StoredPart,
    now: Date,
  ): Promise<{ refused: string; closed: boolean } | { superseded: string | null }> {
    const at = now.toISOString();
    const rows = await runPrepared<{ open: number; stored: number; superseded: string | null }>(
      this.deps.db,
      this.hotStatements().recordStoredPart,
      { id, partNumber, sizeBytes, storedSize: stored.sizeBytes, etag: stored.etag, at },
    );
    const result = rows[0];
    if (result?.stored === 1) return { superseded: result.superseded };
    if (result?.open === 1) {
      // Asked for again (at another size) while these bytes arrived: the newer URL's bytes are the part.
      return {
        refused: `Part ${partNumber} was requested again while this body arrived; send it to the newer URL.`,
        closed: false,
      };
    }
    const current = await this.deps.queries.rowById(id);
    return { refused: `Recording is ${current?.status ?? 'gone'}; it takes no more parts.`, closed: true };
  }

  /**
   * The parts stored for an unfinished recording, in order: as the database names them where parts pass through
   * the service, as the backend lists them where they do not (S3).
   */
  storedParts(row: RecordingRow): Promise<StoredPart[]> {
    return this.deps.strategy.storedParts(row);
  }

  /** A batch of tail URLs (S3; tails.ts, docs/bounded-loss.md). */
  requestTails(
    user: Identity,
    id: string,
    req: { partNumber: number; firstSeq: number; maxLagMs?: number | undefined },
  ): Promise<TailTargets> {
    return issueTailUrls(this.deps.tails, user, id, req);
  }
}
