/**
 * The recordings service: the state machine, the ownership rule, the size
 * rule and the ETag check. Routes call it; it calls storage and the database.
 *
 *   recording ──stop──▶ uploading ──complete──▶ ready
 *        │                  │
 *        └──────fail────────┴──▶ failed        (complete also works from recording)
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, asc, desc, eq, getTableColumns, gte, inArray, isNull, lt, sql, type Query, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import {
  recordingMarkers,
  recordingParts,
  recordings,
  type EndedBy,
  type RecordingRow,
  type RecordingStatus,
} from '../db/schema.js';
import { DomainError, badRequest, conflict, notFound, tooLarge } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { BodyTimeoutError, createBodyWatchdog } from '../uploads/body-watchdog.js';
import { UploadGate } from '../uploads/gate.js';
import {
  InsufficientStorageError,
  InvalidPartError,
  PartIncompleteError,
  PartTooLargeError,
  keyFor,
  normalizeEtag,
  type ByteRange,
  type PartTarget,
  type RecordingStorage,
  type StoredPart,
} from '../storage/types.js';
import { decodeListCursor, encodeListCursor, type ListKey, type ListOrder, type ListSort } from './cursor.js';
import { isWebm, repairWebm } from './repair.js';
import { foldTails, issueTailUrls, removeOrphanTails, removeSupersededTails } from './tails.js';
import { repairWebmObject, writeDurationObject } from './repair-object.js';
import type { PartsUrl, TailTargets } from '@sortie/contract';

/** The recording resource is the contract's (docs/API.md "4. The recording resource"): toResource is checked against it. */
import type { Recording } from '@sortie/contract';
export type { Recording };

export function toResource(r: RecordingRow): Recording {
  return {
    id: r.id,
    sessionId: r.sessionId,
    userId: r.userId,
    userName: r.userName,
    status: r.status,
    mimeType: r.mimeType,
    sizeBytes: r.sizeBytes,
    durationMs: r.durationMs,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
    failureReason: r.failureReason,
    endedBy: r.endedBy ?? null,
    posterOffsetMs: r.posterOffsetMs ?? null,
  };
}

export interface ListFilter {
  userId?: string;
  sessionId?: string;
  status?: RecordingStatus;
  /** createdAt ≥ from. */
  from?: Date;
  /** createdAt < to. */
  to?: Date;
  /** Default created, newest first. */
  sort?: ListSort;
  order?: ListOrder;
  limit: number;
  cursor?: string;
  /** 'true': count the matches too (up to LIST_COUNT_CAP). */
  count?: 'true' | 'false';
  /** (extension) Only recordings with a marker whose label contains this text, case-insensitively. */
  marker?: string;
}

export interface Page {
  items: Recording[];
  nextCursor: string | null;
  /** With count=true: how many recordings match, at most LIST_COUNT_CAP. */
  count?: number;
  /** With count=true: more than `count` match (shown as "1000+"). */
  countIsLowerBound?: boolean;
}

/**
 * Counting stops here: an exact count of a large filter reads every matching row, while counting up to a cap reads
 * at most this many index entries, whatever the table's size. Past it the answer is a lower bound ("1000+").
 */
export const LIST_COUNT_CAP = 1000;

/**
 * The sort key of each sort, as SQL. A duration is null until known: -1 puts those after every known duration
 * newest-first (and first oldest-first) and keeps the key a plain number the cursor can carry. Each key has an
 * index on (key DESC, id DESC) in schema.ts, read forwards for desc and backwards for asc.
 */
const SORT_KEY: Record<ListSort, SQL> = {
  created: sql`${recordings.createdAt}`,
  duration: sql`coalesce(${recordings.durationMs}, -1)`,
  size: sql`${recordings.sizeBytes}`,
};

function sortKeyOf(r: RecordingRow, sort: ListSort): ListKey {
  if (sort === 'created') return r.createdAt;
  return sort === 'size' ? r.sizeBytes : (r.durationMs ?? -1);
}

/** Lifetime of the URLs a client PUTs parts to. */
export const PART_URL_TTL_SECONDS = 15 * 60;

const OPEN: RecordingStatus[] = ['recording', 'uploading'];

export interface RecordingsServiceOptions {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  /** SORTIE_RECORDING_MAX_SIZE_MB in bytes. */
  maxSizeBytes: number;
  /** Per-user caps (SORTIE_RECORDING_MAX_OPEN_PER_USER, SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER). Default: none. */
  perUser?: { maxOpenRecordings: number; maxReservedBytes: number };
  /** Limits on bodies received through the service (SORTIE_UPLOAD_*). Default: 256 / 8 at once, 30 s idle, 1 KiB/s. */
  uploads?: {
    maxConcurrent: number;
    maxConcurrentPerUser: number;
    maxConcurrentPerPart?: number;
    idleTimeoutMs: number;
    minBytesPerSecond: number;
  };
  /** SORTIE_RECORDING_MIN_FREE_MB in bytes: a part that would leave less free disk is refused (507). Default 0. */
  minFreeBytes?: number;
  /** Where the repair of a recording finalized without its client logs (repair.ts). Default: stdout. */
  logger?: Logger;
}

/** Seconds a client is told to wait before sending a part again to a full disk. */
const DISK_FULL_RETRY_SECONDS = 30;

/** Renders raw SQL once; the dialect only turns the template into text and parameters. */
const dialect = new PgDialect();

/** A statement rendered once, placeholders (sql.placeholder) left for each run. */
type PreparedStatement = Query & { name: string };

function prepared(name: string, statement: SQL): PreparedStatement {
  return { ...dialect.sqlToQuery(statement), name };
}

/**
 * Runs a statement rendered once on `db` or on a transaction (a prepared drizzle query is bound to the
 * connection it was built on; this takes the transaction's), as a named prepared statement.
 */
function runPrepared<T>(db: Db, statement: PreparedStatement, values: Record<string, unknown>): Promise<T[]> {
  return db._.session.prepareQuery(statement, undefined, statement.name, false).execute(values) as Promise<T[]>;
}

/** The recordings table's columns, by database name: to read a row a raw statement returned. */
const RECORDING_COLUMNS = Object.entries(getTableColumns(recordings));

/** A `recordings` row as the driver returned it (snake_case, driver values) → the row drizzle would have mapped. */
function recordingFromColumns(raw: Record<string, unknown>): RecordingRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of RECORDING_COLUMNS) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as RecordingRow;
}

export class RecordingsService {
  private readonly db: Db;
  readonly storage: RecordingStorage;
  private readonly clock: Clock;
  readonly maxSizeBytes: number;
  private readonly opts: RecordingsServiceOptions;
  private readonly uploads: NonNullable<RecordingsServiceOptions['uploads']>;
  /** Shared by every copy made with withDb: the caps are per process. */
  readonly gate: UploadGate;
  private readonly logger: Logger;

  constructor(opts: RecordingsServiceOptions, gate?: UploadGate) {
    this.opts = opts;
    this.logger = opts.logger ?? createLogger({ service: 'sortie-recording', component: 'recordings' });
    this.db = opts.db;
    this.storage = opts.storage;
    this.clock = opts.clock;
    this.maxSizeBytes = opts.maxSizeBytes;
    this.uploads = opts.uploads ?? {
      maxConcurrent: 256,
      maxConcurrentPerUser: 8,
      idleTimeoutMs: 30_000,
      minBytesPerSecond: 1024,
    };
    this.gate = gate ?? new UploadGate(this.uploads);
  }

  /** The same service on another connection or transaction (the jobs run it on theirs). */
  withDb(db: Db): RecordingsService {
    return new RecordingsService({ ...this.opts, db }, this.gate);
  }

  private hot: ReturnType<RecordingsService['buildHotStatements']> | undefined;

  /**
   * The statements of the part path (a part URL, a part's bytes), built once per service:
   * per part, no query building (drizzle's builder and SQL rendering cost ~0.3 ms of CPU a part), and
   * postgres-js runs them as named prepared statements, parsed and planned once per connection.
   */
  private hotStatements() {
    return (this.hot ??= this.buildHotStatements());
  }

  private buildHotStatements() {
    const receiver = this.storage.receiver;
    return {
      /** acceptPart: the recording and the size its part was last requested at, in one round trip. */
      partTarget: this.db
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
      /** create: the user's lock, the open count, the insert, in one round trip (migration 0006). */
      createRecording: prepared(
        'sortie_create_recording',
        sql`select * from sortie_create_recording(${sql.placeholder('id')}::uuid, ${sql.placeholder('sessionId')},
          ${sql.placeholder('userId')}, ${sql.placeholder('userName')}, ${sql.placeholder('mimeType')},
          ${sql.placeholder('storageKey')}, ${sql.placeholder('uploadId')}, ${sql.placeholder('at')}::timestamptz,
          ${sql.placeholder('maxOpen')}::int)`,
      ),
      /** requestPart: the locks, then the sums and the reservation, in one round trip (migration 0005). */
      requestPart: prepared(
        'sortie_request_part',
        sql`select * from sortie_request_part(${sql.placeholder('id')}::uuid, ${sql.placeholder('userId')},
          ${sql.placeholder('partNumber')}::int, ${sql.placeholder('sizeBytes')}::bigint, ${sql.placeholder('at')}::timestamptz,
          ${this.maxSizeBytes}::bigint, ${sql.placeholder('userCap')}::bigint, ${!receiver})`,
      ),
      /** acceptPart: the received version recorded as the part (recordStoredPart). */
      recordStoredPart: prepared(
        'sortie_part_stored',
        sql`
      with rec as materialized (
        select id from recordings where id = ${sql.placeholder('id')} and status in ('recording', 'uploading') for update
      ), cur as (
        select p.etag, p.stored_size from recording_parts p join rec on p.recording_id = rec.id
        where p.part_number = ${sql.placeholder('partNumber')} and p.declared_size = ${sql.placeholder('sizeBytes')}
        for update of p
      ), upd as (
        update recording_parts p set stored_size = ${sql.placeholder('storedSize')}, etag = ${sql.placeholder('etag')}, updated_at = ${sql.placeholder('at')}::timestamptz
        from cur where p.recording_id = ${sql.placeholder('id')} and p.part_number = ${sql.placeholder('partNumber')}
        returning cur.etag as superseded, cur.stored_size as old_size
      ), total as (
        update recordings r set last_activity_at = ${sql.placeholder('at')}::timestamptz, updated_at = ${sql.placeholder('at')}::timestamptz,
          size_bytes = r.size_bytes - coalesce(upd.old_size, 0) + ${sql.placeholder('storedSize')}
        from upd where r.id = ${sql.placeholder('id')}
        returning r.id
      )
      select (select count(*) from rec)::int as open, (select count(*) from total)::int as stored,
        (select superseded from upd) as superseded`,
      ),
    };
  }

  async create(user: Identity, input: { sessionId: string; mimeType: string }): Promise<Recording> {
    return toResource(await this.createRow(user, input));
  }

  /** create, answering the row (the route also needs its storage key, for the parts URL). */
  async createRow(user: Identity, input: { sessionId: string; mimeType: string }): Promise<RecordingRow> {
    const id = randomUUID();
    const key = keyFor(id, input.mimeType);
    const uploadId = await this.storage.createUpload(key, input.mimeType);
    const now = this.clock.now();
    let row: RecordingRow | undefined;
    const cap = this.opts.perUser?.maxOpenRecordings;
    try {
      // One round trip: sortie_create_recording (migration 0006) takes the user's lock, counts
      // their open recordings after it, and inserts.
      const [raw] = await runPrepared<Record<string, unknown>>(this.db, this.hotStatements().createRecording, {
        id,
        sessionId: input.sessionId,
        userId: user.id,
        userName: user.name ?? null,
        mimeType: input.mimeType,
        storageKey: key,
        uploadId,
        at: now.toISOString(),
        maxOpen: cap ?? null,
      });
      if (!raw) {
        throw new DomainError(
          'too_many_requests',
          `You have ${cap} recordings open already, the most allowed; stop or complete one first.`,
          {
            retryAfterSeconds: 60,
          },
        );
      }
      row = recordingFromColumns(raw);
    } catch (err) {
      // No row will ever name this upload, so nothing (the sweeper included) would clean it up: discard it now
      // (the local parts folder, the S3 multipart upload), then report the original failure.
      await this.storage.abortUpload({ key, uploadId }).catch(() => {});
      throw err;
    }
    return row!;
  }

  async list(filter: ListFilter): Promise<Page> {
    const sort = filter.sort ?? 'created';
    const order = filter.order ?? 'desc';
    if (filter.from && filter.to && filter.from > filter.to) {
      throw badRequest(`from (${filter.from.toISOString()}) must not be after to (${filter.to.toISOString()}).`);
    }
    const where: SQL[] = [];
    if (filter.userId !== undefined) where.push(eq(recordings.userId, filter.userId));
    if (filter.sessionId !== undefined) where.push(eq(recordings.sessionId, filter.sessionId));
    if (filter.status !== undefined) where.push(eq(recordings.status, filter.status));
    if (filter.from !== undefined) where.push(gte(recordings.createdAt, filter.from));
    if (filter.to !== undefined) where.push(lt(recordings.createdAt, filter.to));
    if (filter.marker !== undefined) {
      // LIKE's own wildcards in the text are literal; markers are read through their (recording, offset) index.
      const pattern = `%${filter.marker.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      where.push(
        sql`exists (select 1 from ${recordingMarkers} where ${recordingMarkers.recordingId} = ${recordings.id} and ${recordingMarkers.label} ilike ${pattern})`,
      );
    }
    const matches = where.length ? and(...where) : undefined;
    const key = SORT_KEY[sort];
    const page = [...where];
    if (filter.cursor !== undefined) {
      const c = decodeListCursor(filter.cursor, sort, order);
      const k = c.key instanceof Date ? sql`${c.key.toISOString()}::timestamptz` : sql`${c.key}::bigint`;
      // The next page holds what sorts strictly after (key, id) in this order: a row comparison, which
      // PostgreSQL reads as one index range on (key, id).
      page.push(
        order === 'desc'
          ? sql`(${key}, ${recordings.id}) < (${k}, ${c.id}::uuid)`
          : sql`(${key}, ${recordings.id}) > (${k}, ${c.id}::uuid)`,
      );
    }
    const dir = order === 'desc' ? desc : asc;
    const rows = await this.db
      .select()
      .from(recordings)
      .where(page.length ? and(...page) : undefined)
      .orderBy(dir(key), dir(recordings.id))
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    const result: Page = {
      items: items.map(toResource),
      nextCursor:
        rows.length > filter.limit && last
          ? encodeListCursor({ sort, order, key: sortKeyOf(last, sort), id: last.id })
          : null,
    };
    if (filter.count === 'true') {
      const capped = this.db
        .select({ one: sql`1` })
        .from(recordings)
        .where(matches)
        .limit(LIST_COUNT_CAP + 1)
        .as('capped');
      const [counted] = await this.db.select({ n: sql<string>`count(*)` }).from(capped);
      const n = Number(counted?.n ?? 0);
      result.count = Math.min(n, LIST_COUNT_CAP);
      result.countIsLowerBound = n > LIST_COUNT_CAP;
    }
    return result;
  }

  /** The row if `user` may see it: its owner, or any admin when `allowAdmin`. Else 404, as if absent. */
  async getRow(user: Identity, id: string, allowAdmin: boolean): Promise<RecordingRow> {
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id));
    if (!row || (row.userId !== user.id && !(allowAdmin && user.isAdmin))) throw notFound();
    return row;
  }

  /** The row with no ownership check: for callers already authorized by a signed URL or a job. */
  async rowById(id: string): Promise<RecordingRow | null> {
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id));
    return row ?? null;
  }

  async get(user: Identity, id: string): Promise<Recording> {
    return toResource(await this.getRow(user, id, true));
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
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + PART_URL_TTL_SECONDS * 1000);
    const target = await this.storage.presignPart({
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
  async partsUrl(rec: { id: string; userId: string; storageKey: string }, origin: string): Promise<PartsUrl | null> {
    const receiver = this.storage.receiver;
    if (!receiver) return null;
    const expiresAt = new Date(this.clock.now().getTime() + PART_URL_TTL_SECONDS * 1000);
    const target = await receiver.presignParts({
      recordingId: rec.id,
      userId: rec.userId,
      key: rec.storageKey,
      expiresInSeconds: PART_URL_TTL_SECONDS,
      origin,
    });
    return { url: target.url, method: 'PUT', headers: target.headers, expiresAt: expiresAt.toISOString() };
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
    if (partNumber > this.storage.maxParts) throw badRequest(`partNumber must be from 1 to ${this.storage.maxParts}.`);
    const receiver = this.storage.receiver;
    // A part URL whose PUT would find no room is refused now, on a fresh figure that counts the writes under way;
    // the PUT's write still reserves its bytes before reading them, which is what holds the reserve exactly.
    // A part over the size limit is the size rules' to refuse (413), whatever room the disk has.
    if (receiver && checkFreeSpace && sizeBytes <= this.maxSizeBytes) {
      const free = await receiver.freeBytes();
      if (free - sizeBytes < (this.opts.minFreeBytes ?? 0)) {
        throw new DomainError('insufficient_storage', 'The recordings disk is full; send this part again later.', {
          retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
        });
      }
    }
    const now = this.clock.now();
    // Sum and reserve under the recording's row lock (and the user's lock, for the per-user
    // cap): parallel /parts requests, or replicas, must not each see room for themselves.
    // One round trip: sortie_request_part (migration 0005) takes the locks, then reads the
    // sums with a snapshot taken after they were granted, then reserves.
    const userCap = this.opts.perUser?.maxReservedBytes;
    const [row] = await runPrepared<{
      user_id: string;
      status: RecordingStatus;
      storage_key: string;
      upload_id: string | null;
      this_part: string | null;
      others: string | null;
      user_others: string | null;
      reserved: number;
    }>(this.db, this.hotStatements().requestPart, {
      id,
      userId,
      partNumber,
      sizeBytes,
      at: now.toISOString(),
      userCap: userCap ?? null,
    });
    if (!row || row.user_id !== userId) throw notFound();
    if (!OPEN.includes(row.status)) throw conflict(`Recording is ${row.status}; it takes no more parts.`);
    if (row.reserved !== 1) {
      // This part's earlier version stays stored until the new one replaces it: this_part is the larger; on S3
      // it also holds the recording's tails beyond those this part replaces (migration 0013).
      const thisPart = Number(row.this_part ?? sizeBytes);
      const total = Number(row.others ?? 0) + thisPart;
      if (total > this.maxSizeBytes) {
        throw tooLarge(
          `This part would take the recording to ${total} bytes, over the limit of ${this.maxSizeBytes} bytes.`,
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
    const receiver = this.storage.receiver;
    if (!receiver) throw notFound('This backend receives no parts through the service.');
    let row: { userId: string; storageKey: string };
    if (signed.userId !== undefined && signed.key !== undefined) {
      // The URL (signed by this deployment) names the owner and the storage key: no lookup
      // before the bytes. Whether the recording is still open and this URL still the part's
      // latest is checked where it decides, under the row lock in recordStoredPart; bytes
      // it refuses are deleted. One round trip a part fewer.
      row = { userId: signed.userId, storageKey: signed.key };
    } else {
      // A URL from an earlier release: the recording and the size its part was last requested at.
      const [found] = await this.hotStatements().partTarget.execute({ id, partNumber });
      if (!found) throw notFound();
      if (!OPEN.includes(found.row.status)) throw conflict(`Recording is ${found.row.status}; it takes no more parts.`);
      if (found.declaredSize !== sizeBytes) {
        throw conflict(
          `Part ${partNumber} has been requested again since this URL was issued; send it to the newer URL.`,
        );
      }
      row = found.row;
    }
    const release = this.gate.acquire(row.userId, id, partNumber);
    const watchdog = createBodyWatchdog(this.uploads);
    let stored: StoredPart;
    try {
      stored = await receiver.writePart({
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
      if (err instanceof PartTooLargeError)
        throw new DomainError(
          'payload_too_large',
          `The body is longer than the ${sizeBytes} bytes this URL was issued for.`,
        );
      if (err instanceof PartIncompleteError)
        throw badRequest(`The body ended before the ${sizeBytes} bytes this URL was issued for; send the part again.`);
      if (err instanceof BodyTimeoutError)
        throw new DomainError('request_timeout', `${err.message} Send the part again.`);
      if (err instanceof InsufficientStorageError) {
        throw new DomainError(
          'insufficient_storage',
          'The recordings disk is full; this part was not stored (its earlier version, if any, is kept). Send it again later.',
          {
            retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
          },
        );
      }
      // A complete, fail or delete that ran meanwhile removed the upload under us.
      const now = await this.rowById(id);
      if (!now || !OPEN.includes(now.status))
        throw conflict(`Recording is ${now?.status ?? 'gone'}; it takes no more parts.`);
      throw err;
    } finally {
      watchdog.stop();
      release();
    }
    const now = this.clock.now();
    const outcome = await this.recordStoredPart(id, partNumber, sizeBytes, stored, now);
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
      this.db,
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
    const current = await this.rowById(id);
    return { refused: `Recording is ${current?.status ?? 'gone'}; it takes no more parts.`, closed: true };
  }

  /**
   * The parts stored for an unfinished recording, in order. Where parts pass
   * through the service, the database is the one source of truth (it names the
   * version of each part; other files in the folder are versions on their way
   * in or out); where they do not (S3), the backend's own listing.
   */
  async storedParts(row: RecordingRow): Promise<StoredPart[]> {
    if (!this.storage.receiver) return this.storage.listParts({ key: row.storageKey, uploadId: row.uploadId });
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

  /** A batch of tail URLs (S3; tails.ts, docs/bounded-loss.md). */
  requestTails(
    user: Identity,
    id: string,
    req: { partNumber: number; firstSeq: number; maxLagMs?: number | undefined },
  ): Promise<TailTargets> {
    return issueTailUrls(this.tailDeps(), user, id, req);
  }

  /** Finalizing without the client: the tails after `parts` become its last part (S3; tails.ts). */
  foldTails(row: RecordingRow, parts: StoredPart[]): Promise<StoredPart[]> {
    return foldTails({ ...this.tailDeps(), logger: this.logger }, row, parts);
  }

  /** Removes tails of no open recording (S3; the sweeper, tails.ts). */
  removeOrphanTails(): Promise<number> {
    return removeOrphanTails({ ...this.tailDeps(), logger: this.logger });
  }

  /** S3: tails of parts stored in full, of open recordings whose targets have all expired (tails.ts). */
  removeSupersededTails(): Promise<number> {
    return removeSupersededTails({ ...this.tailDeps(), logger: this.logger });
  }

  private tailDeps() {
    return {
      db: this.db,
      storage: this.storage,
      clock: this.clock,
      maxSizeBytes: this.maxSizeBytes,
      userCapBytes: this.opts.perUser?.maxReservedBytes,
    };
  }

  /**
   * A beacon from the recording's page says it is over (the tab closed): the
   * recording stops taking new part URLs' worth of time and is finalized from
   * what is stored once its last part in flight has landed (the sweeper's
   * settleSoon). Answers whether this call ended it (false: already ended).
   */
  async requestEnd(id: string): Promise<boolean> {
    const now = this.clock.now();
    const updated = await this.db
      .update(recordings)
      .set({ status: 'uploading', endRequestedAt: now, endedBy: 'beacon', updatedAt: now })
      .where(and(eq(recordings.id, id), inArray(recordings.status, OPEN), isNull(recordings.endRequestedAt)))
      .returning({ id: recordings.id });
    return updated.length > 0;
  }

  async stop(user: Identity, id: string): Promise<Recording> {
    const row = await this.getRow(user, id, false);
    if (row.status === 'uploading') return toResource(row);
    if (row.status !== 'recording')
      throw conflict(`Recording is ${row.status}; only a recording in progress can be stopped.`);
    const now = this.clock.now();
    const [updated] = await this.db
      .update(recordings)
      .set({ status: 'uploading', updatedAt: now, lastActivityAt: now })
      .where(and(eq(recordings.id, id), eq(recordings.status, 'recording')))
      .returning();
    return toResource(updated ?? (await this.getRow(user, id, false)));
  }

  /**
   * Checks the client's part list against what is stored, assembles the
   * parts and marks the recording ready. Idempotent: a ready recording is
   * answered as it is.
   */
  async complete(
    user: Identity,
    id: string,
    input: {
      durationMs: number | null;
      parts: { partNumber: number; etag: string }[];
      endedBy?: 'stop' | 'size_limit';
    },
  ): Promise<Recording> {
    const row = await this.getRow(user, id, false);
    if (row.status === 'ready') return toResource(row);
    if (row.status === 'failed') throw conflict('Recording has failed; it cannot be completed.');
    let parts = input.parts;
    // Ended by its size limit, a recording on S3 may have had its last part refused (413) with its bytes still
    // in tails: they go into the object up to the limit, as the sweeper's would (tails.ts, foldTails).
    if (this.storage.tails && input.endedBy === 'size_limit') parts = await this.withTailsAfter(row, parts);
    return this.finalize(row, input.durationMs, parts, input.endedBy ?? 'stop');
  }

  /** `parts` and, when they are the stored run 1..n, the tails after them folded in as part n+1. */
  private async withTailsAfter(
    row: RecordingRow,
    parts: { partNumber: number; etag: string }[],
  ): Promise<{ partNumber: number; etag: string }[]> {
    const held = await this.heldParts(row);
    if (!held) return parts;
    const run: StoredPart[] = [];
    for (const [i, p] of [...parts].sort((a, b) => a.partNumber - b.partNumber).entries()) {
      const h = held.get(p.partNumber);
      // Anything else is finalize's to refuse, with its own message.
      if (p.partNumber !== i + 1 || !h || normalizeEtag(h.etag) !== normalizeEtag(p.etag)) return parts;
      run.push(h);
    }
    return (await this.foldTails(row, run)).map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
  }

  /** Shared by complete and the sweeper: validate, assemble, mark ready. */
  async finalize(
    row: RecordingRow,
    durationMs: number | null,
    partsIn: { partNumber: number; etag: string }[],
    endedBy: EndedBy,
  ): Promise<Recording> {
    let parts = [...partsIn].sort((a, b) => a.partNumber - b.partNumber);
    if (parts.length === 0) throw badRequest('parts must list at least one part.');
    parts.forEach((p, i) => {
      if (p.partNumber !== i + 1)
        throw badRequest(
          `parts must be numbered 1..${parts.length} with no gap or repeat; part ${i + 1} is missing or repeated.`,
        );
    });
    const stored = await this.db.select().from(recordingParts).where(eq(recordingParts.recordingId, row.id));
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
    // Where the bytes bypass the service (S3), ask storage what it holds: a declared size
    // is only a promise, and a URL issued for a larger size may still be valid.
    const held = stored.some((s) => s.etag === null) ? await this.heldParts(row) : null;
    let total = 0;
    parts.forEach((p, i) => {
      const s = byNumber.get(p.partNumber);
      if (!s) throw badRequest(`Part ${p.partNumber} was never requested.`);
      const actual =
        s.etag !== null ? { etag: s.etag, sizeBytes: s.storedSize ?? s.declaredSize } : held?.get(p.partNumber);
      if (held && !actual) throw badRequest(`Part ${p.partNumber} has not been received.`);
      if (this.storage.receiver && s.etag === null) throw badRequest(`Part ${p.partNumber} has not been received.`);
      if (actual && normalizeEtag(actual.etag) !== normalizeEtag(p.etag)) {
        throw badRequest(`The ETag of part ${p.partNumber} does not match the stored part.`);
      }
      const size = actual?.sizeBytes ?? s.declaredSize;
      if (i < parts.length - 1 && size < this.storage.minPartSizeBytes) {
        throw badRequest(
          `Part ${p.partNumber} is ${size} bytes; every part but the last must be at least ${this.storage.minPartSizeBytes} bytes.`,
        );
      }
      total += size;
    });
    if (total > this.maxSizeBytes)
      throw tooLarge(`The parts add up to ${total} bytes, over the limit of ${this.maxSizeBytes} bytes.`);
    // Finalized without its client (a beacon, the sweeper): an incomplete trailing block is cut and the
    // Duration written, where the parts pass through the service (repair.ts; S3 after joining, below).
    const receiver = this.storage.receiver;
    if (endedBy !== 'stop' && endedBy !== 'size_limit' && receiver && isWebm(row)) {
      const repaired = await repairWebm({ db: this.db, clock: this.clock, receiver, logger: this.logger, row, parts });
      parts = repaired.parts;
      durationMs ??= repaired.durationMs;
    }
    let result;
    try {
      result = await this.storage.completeUpload({ key: row.storageKey, uploadId: row.uploadId, parts });
    } catch (err) {
      // A fail or delete that ran meanwhile discarded the parts under us.
      const current = await this.rowById(row.id);
      if (!current || !OPEN.includes(current.status)) return this.settleLostRace(row);
      if (err instanceof InvalidPartError) {
        // The part was sent again while joining, and its old version is gone: nothing is lost, the new one is stored.
        if (this.storage.receiver && !(await this.partsUnchanged(this.db, row.id, parts)))
          throw partChangedWhileCompleting();
        throw badRequest(err.message);
      }
      if (err instanceof InsufficientStorageError) {
        throw new DomainError(
          'insufficient_storage',
          'The recordings disk is too full to assemble this recording; complete it again later. Its parts are kept.',
          {
            retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
          },
        );
      }
      throw err;
    }
    // Where the service never held the parts (S3), the finished object itself is repaired (repair-object.ts).
    if (endedBy !== 'stop' && !receiver && this.storage.rewriteObject && isWebm(row)) {
      const fixed = await repairWebmObject({
        storage: this.storage,
        logger: this.logger,
        row,
        sizeBytes: result.sizeBytes,
      });
      result = { sizeBytes: fixed.sizeBytes };
      durationMs ??= fixed.durationMs;
    }
    // A normal stop on S3: the SDK leaves the Duration to the service (RecordingConfig.writesDuration).
    if (endedBy === 'stop' && durationMs !== null && !receiver && this.storage.rewriteObject && isWebm(row)) {
      const sizeBytes = await writeDurationObject({
        storage: this.storage,
        logger: this.logger,
        row,
        sizeBytes: result.sizeBytes,
        durationMs,
      });
      result = { sizeBytes };
    }
    return this.markReady(row, result.sizeBytes, durationMs, endedBy, this.storage.receiver ? parts : undefined);
  }

  /** Whether the database still names, for each part, the ETag given (no part was sent again meanwhile). */
  private async partsUnchanged(db: Db, id: string, parts: { partNumber: number; etag: string }[]): Promise<boolean> {
    const rows = await db.select().from(recordingParts).where(eq(recordingParts.recordingId, id));
    const byNumber = new Map(rows.map((r) => [r.partNumber, r.etag]));
    return parts.every((p) => {
      const etag = byNumber.get(p.partNumber);
      return etag != null && normalizeEtag(etag) === normalizeEtag(p.etag);
    });
  }

  /**
   * Records a joined object as the ready recording and forgets its parts, if
   * the recording is still open: every transition is conditional on the state
   * it starts from, so complete, fail, delete and the sweeper can race safely.
   */
  async markReady(
    row: RecordingRow,
    sizeBytes: number,
    durationMs: number | null,
    endedBy: EndedBy,
    joined?: { partNumber: number; etag: string }[],
  ): Promise<Recording> {
    const now = this.clock.now();
    const outcome = await this.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(recordings).where(eq(recordings.id, row.id)).for('update');
      if (!locked || !OPEN.includes(locked.status)) return null;
      // Parts received through the service can be sent again while they are joined: the
      // joined object is only the recording if every part is still the version it joined.
      if (joined && !(await this.partsUnchanged(tx, row.id, joined))) return 'changed' as const;
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
      await this.storage.delete(row.storageKey).catch(() => {});
      throw partChangedWhileCompleting();
    }
    // The parts are in the object now; a receiver's part folder goes (S3 consumed its parts in completeUpload).
    if (this.storage.receiver) await this.storage.abortUpload({ key: row.storageKey, uploadId: null });
    // The tails were copies of bytes now in the object (docs/bounded-loss.md); one left behind costs only space.
    await this.storage.tails?.deleteTails(row.id).catch((err: unknown) => {
      this.logger.warn('tail objects not deleted', { recordingId: row.id, err: String(err) });
    });
    return toResource(outcome);
  }

  /**
   * A complete that found the recording no longer open: another complete won
   * (answer its ready recording, the same object), or a fail or delete did (the
   * object this complete may have joined belongs to nothing: remove it).
   */
  private async settleLostRace(row: RecordingRow): Promise<Recording> {
    const current = await this.rowById(row.id);
    if (current?.status === 'ready') return toResource(current);
    await this.storage.delete(row.storageKey);
    if (!current) throw notFound();
    throw conflict(`Recording is ${current.status}; it cannot be completed.`);
  }

  /**
   * What storage holds for an unfinished upload, by part number; null when the
   * backend cannot list parts (then the declared sizes are the best we know,
   * and S3's own ETag check at completion still guards the bytes).
   */
  private async heldParts(row: RecordingRow): Promise<Map<number, StoredPart> | null> {
    try {
      return new Map(
        (await this.storage.listParts({ key: row.storageKey, uploadId: row.uploadId })).map((p) => [p.partNumber, p]),
      );
    } catch {
      return null;
    }
  }

  async fail(user: Identity, id: string, reason: string): Promise<Recording> {
    const row = await this.getRow(user, id, false);
    if (row.status === 'failed') return toResource(row);
    if (row.status === 'ready') throw conflict('Recording is ready; it cannot be failed.');
    return this.markFailed(row, reason);
  }

  /** Claims the failed state first (only from an open one), then discards what storage holds. */
  async markFailed(row: RecordingRow, reason: string): Promise<Recording> {
    const now = this.clock.now();
    const [updated] = await this.db
      .update(recordings)
      .set({ status: 'failed', failureReason: reason, sizeBytes: 0, updatedAt: now, uploadId: null, endedBy: 'failed' })
      .where(and(eq(recordings.id, row.id), inArray(recordings.status, OPEN)))
      .returning();
    if (!updated) {
      const current = await this.rowById(row.id);
      if (!current) throw notFound();
      if (current.status === 'failed') return toResource(current);
      throw conflict(`Recording is ${current.status}; it cannot be failed.`);
    }
    await this.discardStorage(row);
    await this.db.delete(recordingParts).where(eq(recordingParts.recordingId, row.id));
    return toResource(updated);
  }

  /** A ready recording's bytes, whole or one range. */
  async open(row: RecordingRow, range?: ByteRange): Promise<Readable> {
    if (row.status !== 'ready') throw conflict(`Recording is ${row.status}; only a ready recording can be downloaded.`);
    try {
      return await this.storage.read(row.storageKey, range);
    } catch (err) {
      // Deleted between the row's read and the file's (its owner, an admin, retention): gone, not a fault.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
      throw err;
    }
  }

  /** Removes the stored object(s) first, then the row, so a crash never leaves bytes with no row. */
  /**
   * Deletes a recording's stored files and then its row. True when this call removed the row; false when a
   * concurrent delete (another request, another replica) removed it first: only the one that removed it
   * reports and audits the delete.
   */
  async deleteRow(row: RecordingRow): Promise<boolean> {
    await this.discardStorage(row);
    const removed = await this.db.delete(recordings).where(eq(recordings.id, row.id)).returning({ id: recordings.id });
    // Once more after the row: a thumbnail PUT that held the row's lock while the first pass ran wrote its file
    // then; none can come after (its route finds no recording).
    await this.storage.deleteAssets(row.storageKey);
    return removed.length > 0;
  }

  /**
   * Removes everything storage may hold for a recording, whatever its state:
   * an unfinished upload's parts, and a finished object (which also exists when
   * a complete joined the parts but did not get to record it). Both are idempotent.
   */
  private async discardStorage(row: RecordingRow): Promise<void> {
    // A ready recording's parts were removed when it became ready, unless a crash came between
    // (a receiver's part folder then lingers): removing them again is cheap and idempotent.
    if (row.status !== 'ready' || this.storage.receiver)
      await this.storage.abortUpload({ key: row.storageKey, uploadId: row.status === 'ready' ? null : row.uploadId });
    await this.storage.tails?.deleteTails(row.id);
    await this.storage.delete(row.storageKey);
    // Its thumbnails; the rows that index them (and its markers) go with the recording's row (on delete cascade).
    await this.storage.deleteAssets(row.storageKey);
  }
}

function partChangedWhileCompleting(): DomainError {
  return conflict(
    'A part was sent again while the recording was being completed; complete it again with the new ETag.',
  );
}

/** A download file name: the session and the start time, safe in a header. */
export function downloadFilename(r: Pick<RecordingRow, 'sessionId' | 'createdAt' | 'storageKey'>): string {
  const ext = r.storageKey.endsWith('.mp4') ? 'mp4' : 'webm';
  const session = r.sessionId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'session';
  const when = r.createdAt.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  return `recording-${session}-${when}.${ext}`;
}
