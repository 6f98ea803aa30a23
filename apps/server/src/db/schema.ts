/**
 * The database schema. Migrations under ./migrations are generated from this
 * file by drizzle-kit (`pnpm db:generate`) and never edited by hand.
 * Timestamps keep millisecond precision so that keyset cursors made from a JS
 * Date compare exactly with the stored value.
 */
import { sql, type SQL } from 'drizzle-orm';
import {
  bigint,
  type AnyPgColumn,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: 'date' });

/** A batch of tail targets: `bytes` the sum of their caps, `until` their expiry (ms since the epoch). */
export interface TailBatch {
  bytes: number;
  until: number;
  /** The batch's bytes by the part its targets belong to (batches of migration 0011 lack it). */
  parts?: Record<string, number>;
}

export const RECORDING_STATUSES = ['recording', 'uploading', 'ready', 'failed'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];
export const ENDED_BY = ['stop', 'beacon', 'abandoned', 'size_limit', 'failed'] as const;
export type EndedBy = (typeof ENDED_BY)[number];

/**
 * A recording's span, start to end, as a range: from createdAt to completedAt (updatedAt for a failed one, which
 * has no completedAt), unbounded above while it is open (recording, uploading): a recording still going on overlaps
 * every later range. Closed at both ends, so a recording that ended the moment it started is one instant, not empty;
 * greatest() keeps the end from preceding the start (a range cannot be reversed). The list's overlap search and its
 * GiST index use this one expression, so the planner matches them.
 */
export function recordingSpan(c: {
  createdAt: AnyPgColumn;
  completedAt: AnyPgColumn;
  updatedAt: AnyPgColumn;
  status: AnyPgColumn;
}): SQL {
  return sql`tstzrange(${c.createdAt}, case when ${c.status} in ('recording', 'uploading') then null else greatest(${c.createdAt}, coalesce(${c.completedAt}, ${c.updatedAt})) end, '[]')`;
}

export const recordings = pgTable(
  'recordings',
  {
    id: uuid('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id').notNull(),
    userName: text('user_name'),
    status: text('status').$type<RecordingStatus>().notNull(),
    mimeType: text('mime_type').notNull(),
    /** Bytes stored so far (declared sizes of issued parts on S3, where the service never sees the bytes). */
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
    durationMs: integer('duration_ms'),
    /** Where the storage backend keeps it; never derived from user input. */
    storageKey: text('storage_key').notNull(),
    /** The backend's id of an unfinished multipart upload (S3); null once finished or on local. */
    uploadId: text('upload_id'),
    failureReason: text('failure_reason'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    completedAt: ts('completed_at'),
    /** Last time a part was issued or received: the sweeper's notion of "alive". */
    lastActivityAt: ts('last_activity_at').notNull(),
    /**
     * How the recording ended: stop (the client completed it), beacon (the tab went away), abandoned (the sweeper),
     * size_limit (the client completed it when it reached the size limit), failed. A text column: no migration.
     */
    endedBy: text('ended_by').$type<EndedBy>(),
    /** When a beacon said the recording is over; it is finalized from what is stored shortly after. */
    endRequestedAt: ts('end_requested_at'),
    /** Offset of the recording's first thumbnail, its poster in the lists; null when it has none. */
    posterOffsetMs: integer('poster_offset_ms'),
    /**
     * S3: an upper bound of the bytes its tail objects may hold in the bucket (those listed plus what its
     * unexpired tail targets may still write), as of its last tail batch; counted in the user's reserve.
     */
    tailBytesBound: bigint('tail_bytes_bound', { mode: 'number' }).notNull().default(0),
    /** S3: its batches of tail targets not yet expired: what each may write (the sum of its caps) and until when. */
    tailBatches: jsonb('tail_batches').$type<TailBatch[]>().notNull().default([]),
    /** tailBytesBound by the part the tails belong to: a part counts once with the tails it replaces. */
    tailBytesByPart: jsonb('tail_bytes_by_part').$type<Record<string, number>>().notNull().default({}),
    /** When its seal (recording_seals) was made; null for a recording not ready or not yet sealed. */
    sealedAt: ts('sealed_at'),
    /** Legal hold: set while held (heldAt not null); no delete, owner's, admin's or retention's, removes it. */
    holdReason: text('hold_reason'),
    heldAt: ts('held_at'),
    /** The admin's user id (the token's sub) who placed the hold. */
    heldBy: text('held_by'),
  },
  // `DESC NULLS FIRST` is PostgreSQL's own order for `ORDER BY … DESC`: an index in
  // another null order is not used for the lists' sort (seen with EXPLAIN ANALYZE: a
  // sequential scan and a top-N sort of every row instead of reading 51 index entries).
  (t) => [
    index('recordings_user_created_idx').on(t.userId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('recordings_created_idx').on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('recordings_status_activity_idx').on(t.status, t.lastActivityAt),
    // The admin list's other sorts and filters, each read as an index range in the list's order
    // (EXPLAIN ANALYZE at 1M rows in the commit that added them). duration sorts as coalesce(…, -1): see SORT_KEY.
    index('recordings_size_idx').on(t.sizeBytes.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('recordings_duration_idx').on(sql`coalesce(${t.durationMs}, -1) desc`, t.id.desc().nullsFirst()),
    index('recordings_status_created_idx').on(t.status, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('recordings_session_created_idx').on(t.sessionId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // The per-user reserve, summed on every part, tail batch and thumbnail: a user's open recordings, and those
    // that ended under a minute ago (they still take thumbnails), without reading every recording they ever made.
    index('recordings_user_open_idx')
      .on(t.userId)
      .where(sql`${t.status} in ('recording', 'uploading')`),
    index('recordings_user_ended_idx').on(t.userId, sql`coalesce(${t.completedAt}, ${t.updatedAt})`),
    // The admin list's held=true filter, without reading every recording that is not held.
    index('recordings_held_idx')
      .on(t.heldAt)
      .where(sql`${t.heldAt} is not null`),
    // The admin list's live poll (updatedSince): what changed lately, without reading every recording.
    index('recordings_updated_idx').on(t.updatedAt),
    // "Recorded between" as an overlap: the span from start to end (open while recording) meets the range.
    index('recordings_span_idx').using('gist', recordingSpan(t)),
    // Search by people: a case-insensitive prefix of the user's id or name, or of the session id. text_pattern_ops
    // lets LIKE 'prefix%' read a range of the index whatever the database's collation.
    index('recordings_user_id_prefix_idx').using('btree', sql`lower(${t.userId}) text_pattern_ops`),
    index('recordings_user_name_prefix_idx').using('btree', sql`lower(${t.userName}) text_pattern_ops`),
    index('recordings_session_prefix_idx').using('btree', sql`lower(${t.sessionId}) text_pattern_ops`),
    // The sealer's queue: ready recordings not yet sealed, without reading every sealed one.
    index('recordings_unsealed_idx')
      .on(t.completedAt)
      .where(sql`${t.status} = 'ready' and ${t.sealedAt} is null`),
  ],
);

export const recordingParts = pgTable(
  'recording_parts',
  {
    recordingId: uuid('recording_id')
      .notNull()
      .references(() => recordings.id, { onDelete: 'cascade' }),
    partNumber: integer('part_number').notNull(),
    /** Size announced by POST /parts; counts against the limit until the bytes arrive. */
    declaredSize: bigint('declared_size', { mode: 'number' }).notNull(),
    /** Size and ETag of the bytes actually stored (local backend); null until received. */
    storedSize: bigint('stored_size', { mode: 'number' }),
    etag: text('etag'),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.recordingId, t.partNumber] }),
    // The parts whose reservation is more than what is stored (in flight, or asked again at a larger
    // size): on local, a reservation sums these and reads the rest from the recording's size
    // (migration 0008), instead of summing every part of a recording hours long.
    index('recording_parts_unsettled_idx')
      .on(t.recordingId)
      .where(sql`${t.storedSize} is null or ${t.declaredSize} > ${t.storedSize}`),
  ],
);

/** Who put a marker: the host page (`recorder.mark`) or the SDK itself (lifecycle: started, stopped, …). */
export const MARKER_SOURCES = ['app', 'sdk'] as const;
export type MarkerSource = (typeof MARKER_SOURCES)[number];

/** Points in a recording's timeline (docs/API.md "Markers"); they go when the recording goes. */
export const recordingMarkers = pgTable(
  'recording_markers',
  {
    id: uuid('id').primaryKey(),
    recordingId: uuid('recording_id')
      .notNull()
      .references(() => recordings.id, { onDelete: 'cascade' }),
    /** Milliseconds from the start of the recording. */
    offsetMs: integer('offset_ms').notNull(),
    source: text('source').$type<MarkerSource>().notNull(),
    label: text('label').notNull(),
    /** The host page's own details, as sent (size-capped by the route). */
    data: jsonb('data').$type<unknown>(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('recording_markers_recording_offset_idx').on(t.recordingId, t.offsetMs)],
);

/**
 * Small JPEGs of a recording every N seconds (the SDK's thumbnails). The bytes
 * are in storage beside the recording (thumbnailKeyFor); this row is the index.
 */
export const recordingThumbnails = pgTable(
  'recording_thumbnails',
  {
    recordingId: uuid('recording_id')
      .notNull()
      .references(() => recordings.id, { onDelete: 'cascade' }),
    offsetMs: integer('offset_ms').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.recordingId, t.offsetMs] })],
);

/** A single row (id = 1): settings that administrators change at run time. */
export const settings = pgTable('settings', {
  id: integer('id').primaryKey(),
  autoRecord: boolean('auto_record').notNull().default(false),
  updatedAt: ts('updated_at'),
  updatedBy: text('updated_by'),
  /** Secret for the service's own signed URLs, shared by every replica. */
  signingKey: text('signing_key').notNull(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    at: ts('at').notNull(),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    action: text('action').notNull(),
    recordingId: uuid('recording_id'),
    details: jsonb('details')
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    /** The entry's place in the hash chain (audit/chain.ts); null for entries written before the chain. */
    seq: bigint('seq', { mode: 'number' }),
    /** The previous entry's hash; null for the chain's first entry. */
    prevHash: text('prev_hash'),
    /** SHA-256 (hex) of the entry's canonical content, prevHash included. */
    hash: text('hash'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // One chain: no two entries in one place of it.
    uniqueIndex('audit_log_seq_idx').on(t.seq),
  ],
);

export type RecordingRow = typeof recordings.$inferSelect;
export type PartRow = typeof recordingParts.$inferSelect;
export type MarkerRow = typeof recordingMarkers.$inferSelect;
export type ThumbnailRow = typeof recordingThumbnails.$inferSelect;

/**
 * The signed seal of a ready recording (seals/service.ts): its text exactly as GET /api/recordings/:id/seal
 * answers it, signature included. It goes when the recording goes.
 */
export const recordingSeals = pgTable('recording_seals', {
  recordingId: uuid('recording_id')
    .primaryKey()
    .references(() => recordings.id, { onDelete: 'cascade' }),
  seal: text('seal').notNull(),
  sealedAt: ts('sealed_at').notNull(),
});

/**
 * Every key that ever signed a seal, published by GET /api/seal-keys (old keys stay after a rotation). The
 * private key is kept only for a key the service generated itself (no SORTIE_SEAL_PRIVATE_KEY).
 */
export const sealKeys = pgTable('seal_keys', {
  /** The RFC 7638 thumbprint of the public key. */
  kid: text('kid').primaryKey(),
  /** The public key's x (base64url). */
  x: text('x').notNull(),
  /** PKCS8 PEM, only for a generated key. */
  privatePem: text('private_pem'),
  createdAt: ts('created_at').notNull(),
});
