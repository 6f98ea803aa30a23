/**
 * A recording's timeline: its markers (rows) and its thumbnails (small JPEGs
 * in storage beside the recording, indexed by rows). Both belong to the
 * recording: only its owner adds to them, its owner or an admin reads them,
 * and they go when it goes (the rows on delete cascade, the files with
 * RecordingsService.deleteRow).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Marker, MarkerSource } from '@sortie/contract';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { recordingMarkers, recordingThumbnails, recordings, type RecordingRow } from '../db/schema.js';
import { DomainError, badRequest, notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { RecordingStorage } from '../storage/types.js';
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

export class TimelineService {
  constructor(
    private readonly db: Db,
    private readonly storage: RecordingStorage,
    private readonly clock: Clock,
  ) {}

  /**
   * Adds markers to a recording, all or none. The recording's row is locked
   * for the count, so two batches at once cannot pass the cap together.
   */
  async addMarkers(row: RecordingRow, markers: NewMarker[]): Promise<number> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const [alive] = await tx
        .select({ id: recordings.id })
        .from(recordings)
        .where(eq(recordings.id, row.id))
        .for('update');
      if (!alive) throw notFound();
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
   * The file is written first: a crash between leaves an unindexed file that
   * the recording's delete removes, never a row naming a missing file. The
   * recording's poster is its earliest thumbnail.
   */
  async putThumbnail(row: RecordingRow, offsetMs: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length > MAX_THUMBNAIL_BYTES)
      throw new DomainError('payload_too_large', `A thumbnail is at most ${MAX_THUMBNAIL_BYTES} bytes.`);
    // The JPEG start-of-image marker: anything else is not what the SDK draws, and is not served back as one.
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff)
      throw badRequest('A thumbnail must be a JPEG image.');
    await this.db.transaction(async (tx) => {
      const [alive] = await tx
        .select({ id: recordings.id })
        .from(recordings)
        .where(eq(recordings.id, row.id))
        .for('update');
      // Deleted since the route read it: nothing is written (deleteRow takes any file written meanwhile).
      if (!alive) throw notFound();
      const [held] = await tx
        .select({ n: sql<string>`count(*)` })
        .from(recordingThumbnails)
        .where(eq(recordingThumbnails.recordingId, row.id));
      const [existing] = await tx
        .select({ o: recordingThumbnails.offsetMs })
        .from(recordingThumbnails)
        .where(and(eq(recordingThumbnails.recordingId, row.id), eq(recordingThumbnails.offsetMs, offsetMs)));
      if (!existing && Number(held?.n ?? 0) >= MAX_THUMBNAILS_PER_RECORDING)
        throw new DomainError('conflict', `A recording keeps at most ${MAX_THUMBNAILS_PER_RECORDING} thumbnails.`);
      await this.storage.putAsset(row.storageKey, thumbnailName(offsetMs), bytes, 'image/jpeg');
      const now = this.clock.now();
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
