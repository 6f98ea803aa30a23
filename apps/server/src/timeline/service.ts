/**
 * A recording's timeline: its markers (rows) and its thumbnails (small JPEGs
 * in storage beside the recording, indexed by rows). Both belong to the
 * recording: only its owner adds to them, its owner or an admin reads them,
 * and they go when it goes (the rows on delete cascade, the files with
 * RecordingLifecycle.deleteRow). A recording takes them while it is open and
 * for TIMELINE_AFTER_END_MS after its end, and meanwhile they count toward
 * its owner's caps (docs/operations.md "Limits, and a full disk").
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Marker, MarkerSource } from '@sortie/contract';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import {
  recordingMarkers,
  recordingThumbnails,
  recordings,
  type RecordingRow,
  type RecordingStatus,
} from '../db/schema.js';
import { DomainError, badRequest, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { InsufficientStorageError, type RecordingStorage } from '../storage/types.js';
import { MAX_MARKERS_PER_RECORDING, MAX_THUMBNAILS_PER_RECORDING, MAX_THUMBNAIL_BYTES } from './schemas.js';

export interface NewMarker {
  offsetMs: number;
  label: string;
  source: MarkerSource;
  data?: unknown;
}

/** The storage name of the thumbnail at `offsetMs` (zero-padded so that a listing is in time order). */
export function thumbnailName(offsetMs: number): string {
  return `t-${String(offsetMs).padStart(10, '0')}.jpg`;
}

/**
 * How long after its end (completedAt, or updatedAt for a failed recording) a recording still takes markers and
 * thumbnails: the SDK sends its last ones as it stops, a few seconds at most after the complete. While it takes
 * them they count toward the user's caps; sortie_user_reserved counts the same window for parts.
 */
export const TIMELINE_AFTER_END_MS = 60_000;

/** Seconds a client is told to wait before sending a thumbnail again to a full disk. */
const DISK_FULL_RETRY_SECONDS = 30;

export interface TimelineLimits {
  /** SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER in bytes: parts and thumbnails of the user's open recordings. */
  maxReservedBytes?: number;
  /** SORTIE_RECORDING_MAX_MARKER_KB_PER_USER in bytes: the markers of the user's open recordings. */
  maxMarkerBytes?: number;
}

const OPEN: RecordingStatus[] = ['recording', 'uploading'];

/** SQL: recording `o` still takes markers and thumbnails at `now` (open, or ended under TIMELINE_AFTER_END_MS ago). */
function takesTimeline(now: Date) {
  return sql`(o.status in ('recording', 'uploading') or coalesce(o.completed_at, o.updated_at) > ${now.toISOString()}::timestamptz - ${`${TIMELINE_AFTER_END_MS} milliseconds`}::interval)`;
}

/** SQL: the bytes a marker `m` holds, as the cap counts them: its label and its data as JSON text. */
const MARKER_BYTES = sql`octet_length(m.label) + coalesce(octet_length(m.data::text), 0)`;

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export class TimelineService {
  constructor(
    private readonly db: Db,
    private readonly storage: RecordingStorage,
    private readonly clock: Clock,
    private readonly limits: TimelineLimits = {},
  ) {}

  /**
   * Takes the user's lock (the one sortie_request_part takes, so parts and thumbnails are counted one at a
   * time), then the recording's row lock, and checks that the recording still takes `what`.
   */
  private async lockOpen(tx: Tx, row: RecordingRow, now: Date, what: string, userLock: boolean): Promise<void> {
    if (userLock)
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`sortie.user:${row.userId}`}, 0))`);
    const [alive] = await tx
      .select({ status: recordings.status, completedAt: recordings.completedAt, updatedAt: recordings.updatedAt })
      .from(recordings)
      .where(eq(recordings.id, row.id))
      .for('update');
    // Deleted since the route read it: nothing is written (deleteRow takes any file written meanwhile).
    if (!alive) throw notFound();
    if (OPEN.includes(alive.status)) return;
    const ended = alive.completedAt ?? alive.updatedAt;
    if (now.getTime() - ended.getTime() >= TIMELINE_AFTER_END_MS)
      throw new DomainError(
        'conflict',
        `Recording is ${alive.status} since ${ended.toISOString()}; it takes ${what} only while it is open and for ${TIMELINE_AFTER_END_MS / 1000} s after it ends.`,
      );
  }

  /**
   * Adds markers to a recording, all or none. The recording's row is locked
   * for the count (and the user's lock held for the per-user bytes), so two
   * batches at once cannot pass a cap together.
   */
  async addMarkers(row: RecordingRow, markers: NewMarker[]): Promise<number> {
    const now = this.clock.now();
    const cap = this.limits.maxMarkerBytes;
    return this.db.transaction(async (tx) => {
      await this.lockOpen(tx, row, now, 'markers', cap !== undefined);
      const [held] = await tx
        .select({ n: sql<string>`count(*)` })
        .from(recordingMarkers)
        .where(eq(recordingMarkers.recordingId, row.id));
      const n = Number(held?.n ?? 0);
      if (n + markers.length > MAX_MARKERS_PER_RECORDING)
        throw new DomainError(
          'conflict',
          `A recording keeps at most ${MAX_MARKERS_PER_RECORDING} markers; it has ${n}, and these are ${markers.length}.`,
        );
      await tx.insert(recordingMarkers).values(
        markers.map((m) => ({
          id: randomUUID(),
          recordingId: row.id,
          offsetMs: m.offsetMs,
          source: m.source,
          label: m.label,
          data: m.data ?? null,
          createdAt: now,
        })),
      );
      if (cap !== undefined) {
        // Counted after the insert, as stored (jsonb's text of the data), in this transaction: over the cap, it
        // rolls back whole.
        const [sum] = (await tx.execute(sql`
          select coalesce(sum(${MARKER_BYTES}), 0)::bigint as total from recording_markers m
          join recordings o on o.id = m.recording_id
          where o.user_id = ${row.userId} and ${takesTimeline(now)}`)) as unknown as { total: string }[];
        const total = Number(sum?.total ?? 0);
        if (total > cap)
          throw new DomainError(
            'payload_too_large',
            `These markers would take your open recordings' markers to ${total} bytes, over your limit of ${cap} bytes.`,
          );
      }
      return n + markers.length;
    });
  }

  async listMarkers(row: RecordingRow): Promise<Marker[]> {
    const rows = await this.db
      .select()
      .from(recordingMarkers)
      .where(eq(recordingMarkers.recordingId, row.id))
      .orderBy(asc(recordingMarkers.offsetMs), asc(recordingMarkers.createdAt));
    return rows.map((m) => ({
      id: m.id,
      offsetMs: m.offsetMs,
      label: m.label,
      source: m.source,
      data: m.data ?? null,
      createdAt: m.createdAt.toISOString(),
    }));
  }

  /**
   * Stores the thumbnail at `offsetMs` (replacing one there) and indexes it.
   * Under the user's lock its bytes are counted with the parts against the
   * user's reserve before a byte is written. The file is written first: a
   * crash between leaves an unindexed file that the recording's delete
   * removes, never a row naming a missing file. The recording's poster is its
   * earliest thumbnail.
   */
  async putThumbnail(row: RecordingRow, offsetMs: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length > MAX_THUMBNAIL_BYTES)
      throw new DomainError('payload_too_large', `A thumbnail is at most ${MAX_THUMBNAIL_BYTES} bytes.`);
    // The JPEG start-of-image marker: anything else is not what the SDK draws, and is not served back as one.
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff)
      throw badRequest('A thumbnail must be a JPEG image.');
    const now = this.clock.now();
    const cap = this.limits.maxReservedBytes;
    await this.db.transaction(async (tx) => {
      await this.lockOpen(tx, row, now, 'thumbnails', cap !== undefined);
      const [held] = await tx
        .select({ n: sql<string>`count(*)` })
        .from(recordingThumbnails)
        .where(eq(recordingThumbnails.recordingId, row.id));
      const [existing] = await tx
        .select({ size: recordingThumbnails.sizeBytes })
        .from(recordingThumbnails)
        .where(and(eq(recordingThumbnails.recordingId, row.id), eq(recordingThumbnails.offsetMs, offsetMs)));
      if (!existing && Number(held?.n ?? 0) >= MAX_THUMBNAILS_PER_RECORDING)
        throw new DomainError('conflict', `A recording keeps at most ${MAX_THUMBNAILS_PER_RECORDING} thumbnails.`);
      if (cap !== undefined) {
        // The user's reserve as parts and tails count it (db/functions/sortie_user_reserved.sql), with this
        // thumbnail in place of the one it replaces.
        const [sum] = (await tx.execute(
          sql`select sortie_user_reserved(${row.userId}, ${now.toISOString()}::timestamptz, null, null) as total`,
        )) as unknown as { total: string }[];
        const total = Number(sum?.total ?? 0) - (existing?.size ?? 0) + bytes.length;
        if (total > cap)
          throw new DomainError(
            'payload_too_large',
            `This thumbnail would take your open recordings to ${total} bytes, over your limit of ${cap} bytes; complete one first.`,
          );
      }
      await this.storage.putAsset(row.storageKey, thumbnailName(offsetMs), bytes, 'image/jpeg').catch((err) => {
        if (err instanceof InsufficientStorageError)
          throw new DomainError(
            'insufficient_storage',
            'The recordings disk is full; send this thumbnail again later.',
            {
              retryAfterSeconds: DISK_FULL_RETRY_SECONDS,
            },
          );
        throw err;
      });
      await tx
        .insert(recordingThumbnails)
        .values({ recordingId: row.id, offsetMs, sizeBytes: bytes.length, createdAt: now })
        .onConflictDoUpdate({
          target: [recordingThumbnails.recordingId, recordingThumbnails.offsetMs],
          set: { sizeBytes: bytes.length, createdAt: now },
        });
      await tx
        .update(recordings)
        .set({ posterOffsetMs: sql`least(coalesce(${recordings.posterOffsetMs}, ${offsetMs}), ${offsetMs})` })
        .where(eq(recordings.id, row.id));
    });
  }

  /** Offsets of a recording's thumbnails, in order. */
  async thumbnailOffsets(row: RecordingRow): Promise<number[]> {
    const rows = await this.db
      .select({ o: recordingThumbnails.offsetMs })
      .from(recordingThumbnails)
      .where(eq(recordingThumbnails.recordingId, row.id))
      .orderBy(asc(recordingThumbnails.offsetMs));
    return rows.map((r) => r.o);
  }

  /** The thumbnail's bytes and size, streamed from storage; 404 when it is not indexed. */
  async openThumbnail(row: RecordingRow, offsetMs: number): Promise<{ body: Readable; sizeBytes: number }> {
    const [t] = await this.db
      .select()
      .from(recordingThumbnails)
      .where(and(eq(recordingThumbnails.recordingId, row.id), eq(recordingThumbnails.offsetMs, offsetMs)));
    if (!t) throw notFound('No thumbnail at that offset.');
    const body = await this.storage.readAsset(row.storageKey, thumbnailName(offsetMs));
    if (!body) throw notFound('No thumbnail at that offset.');
    return { body, sizeBytes: t.sizeBytes };
  }
}
