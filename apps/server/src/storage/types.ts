/**
 * The storage contract: everything the recordings service needs from a place
 * that keeps recording bytes. Backends know nothing of users, HTTP or SQL;
 * every backend passes the one suite in contract.test.ts.
 *
 * Keys are made by the service from the recording's UUID (see keyFor) and are
 * never taken from user input.
 */
import type { Readable } from 'node:stream';

export interface PartTarget {
  url: string;
  headers: Record<string, string>;
}

export interface StoredPart {
  partNumber: number;
  etag: string;
  sizeBytes: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface RecordingStorage {
  readonly backend: 'local' | 's3';
  /** Every part but the last must be at least this long (S3: 5 MiB; local: 0). */
  readonly minPartSizeBytes: number;
  /** Highest part number accepted (S3: 10 000). */
  readonly maxParts: number;

  /** Prepares storage for a new recording; returns the backend's upload id (S3) or null. */
  createUpload(key: string, mimeType: string): Promise<string | null>;

  /**
   * A URL the client can PUT part `partNumber` to directly (S3 presigned
   * UploadPart), or null when the bytes go through the service's own PUT route,
   * which then calls writePart.
   */
  presignPart(args: {
    key: string;
    uploadId: string | null;
    partNumber: number;
    sizeBytes: number;
    expiresInSeconds: number;
  }): Promise<PartTarget | null>;

  /**
   * Streams one part's body to storage. The body must be exactly `sizeBytes`
   * long: longer throws PartTooLargeError as soon as it passes the size,
   * shorter throws PartIncompleteError; either way nothing is left behind.
   * Re-writing a part number replaces it. Only backends whose presignPart
   * returns null receive parts this way.
   */
  writePart(args: {
    key: string;
    uploadId: string | null;
    partNumber: number;
    sizeBytes: number;
    body: Readable;
  }): Promise<StoredPart>;

  /**
   * Joins parts 1..n in order into the final object. `parts` is whole and
   * sorted; the service has checked it. Throws InvalidPartError when a part
   * or its ETag is not what storage holds.
   */
  completeUpload(args: { key: string; uploadId: string | null; parts: { partNumber: number; etag: string }[] }): Promise<{ sizeBytes: number }>;

  /** Discards an unfinished upload and every part of it. Idempotent. */
  abortUpload(args: { key: string; uploadId: string | null }): Promise<void>;

  /** Parts stored for an unfinished upload, in order (the sweeper's view of an abandoned upload). */
  listParts(args: { key: string; uploadId: string | null }): Promise<StoredPart[]>;

  /** Size of a finished object, or null when there is none. */
  stat(key: string): Promise<{ sizeBytes: number } | null>;

  /** Reads a finished object, whole or one byte range. */
  read(key: string, range?: ByteRange): Promise<Readable>;

  /**
   * A URL that downloads the finished object without a header (S3 presigned
   * GET with a Content-Disposition filename), or null when the service serves
   * it itself.
   */
  presignDownload(args: { key: string; filename: string; mimeType: string; expiresInSeconds: number }): Promise<string | null>;

  /** Removes a finished object. Idempotent. */
  delete(key: string): Promise<void>;

  /** Throws when the backend cannot be reached (readiness). */
  check(): Promise<void>;
}

export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** A part body longer than announced. */
export class PartTooLargeError extends StorageError {}
/** A part body that ended before its announced size (a cut-off request). */
export class PartIncompleteError extends StorageError {}
/** A part named in complete that storage does not hold, or holds with another ETag. */
export class InvalidPartError extends StorageError {}

/** The storage key of a recording: its UUID and an extension from its MIME type. */
export function keyFor(recordingId: string, mimeType: string): string {
  return `${recordingId}.${mimeType.startsWith('video/mp4') ? 'mp4' : 'webm'}`;
}

/** ETags are compared without the quotes S3 and HTTP put around them. */
export function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}
