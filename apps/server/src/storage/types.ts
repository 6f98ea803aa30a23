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
  /**
   * Present when part bodies pass through the service (local disk): the
   * service's PUT route hands them to it, and the database records which
   * stored version is the part. Absent when clients PUT parts straight to the
   * backend (S3) and the service never sees the bytes. (A capability, as tus's
   * DataStore declares `extensions`, instead of branching on the backend's name.)
   */
  readonly receiver?: PartReceiver;
  /**
   * Present when parts have a size floor (S3's 5 MiB) and the client keeps
   * what is not yet a part in small tail objects it PUTs itself
   * (docs/bounded-loss.md): the service hands out their URLs, folds them into
   * a last part when a recording is finalized without its client, and
   * deletes them.
   */
  readonly tails?: TailStore;

  /** Prepares storage for a new recording; returns the backend's upload id (S3) or null. */
  createUpload(key: string, mimeType: string): Promise<string | null>;

  /**
   * Where the client PUTs part `partNumber` of exactly `sizeBytes`: a presigned
   * UploadPart URL (S3), or a signed URL back to the service (local), made
   * from `origin` (the service's public origin).
   */
  presignPart(args: {
    recordingId: string;
    /** The recording's owner: the local URL carries it (and the key) so that its PUT needs no lookup. */
    userId: string;
    key: string;
    uploadId: string | null;
    partNumber: number;
    sizeBytes: number;
    expiresInSeconds: number;
    origin: string;
  }): Promise<PartTarget>;

  /**
   * Joins parts 1..n in order into the final object. `parts` is whole and
   * sorted; the service has checked it. Throws InvalidPartError when a part
   * or its ETag is not what storage holds.
   */
  completeUpload(args: {
    key: string;
    uploadId: string | null;
    parts: { partNumber: number; etag: string }[];
  }): Promise<{ sizeBytes: number }>;

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
  presignDownload(args: {
    key: string;
    filename: string;
    mimeType: string;
    expiresInSeconds: number;
  }): Promise<string | null>;

  /**
   * Present where the service never holds a recording's bytes (S3): replaces
   * the finished object `key` by `head` followed by its own bytes [from, end),
   * mostly copied inside the store; the old object stays until the new one is
   * whole. The repair of a recording finalized without its client
   * (recordings/repair-object.ts).
   */
  rewriteObject?(args: {
    key: string;
    mimeType: string;
    head: Uint8Array;
    from: number;
    end: number;
  }): Promise<{ sizeBytes: number }>;

  /** Removes a finished object (not the parts of an unfinished upload: abortUpload does). Idempotent. */
  delete(key: string): Promise<void>;

  /**
   * Writes a small file beside recording `key` (a thumbnail: `name` matches
   * ASSET_NAME_RE), replacing one of that name. The caller caps its size: it is
   * held whole, never anything recording-sized.
   */
  putAsset(key: string, name: string, bytes: Uint8Array, contentType: string): Promise<void>;

  /** Reads a file written by putAsset, or null when there is none. */
  readAsset(key: string, name: string): Promise<Readable | null>;

  /** Removes every file written by putAsset beside recording `key`. Idempotent. */
  deleteAssets(key: string): Promise<void>;

  /** Throws when the backend cannot be reached (readiness). */
  check(): Promise<void>;
}

/** Names of the small files beside a recording (putAsset): a letter or digit first, no path separator. */
export const ASSET_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** What a backend that receives part bodies itself offers (see RecordingStorage.receiver). */
export interface PartReceiver {
  /** Removes a recording's parts folder if it is empty (a late PUT to a closed recording made it again). */
  discardEmptyParts?(args: { key: string }): Promise<void>;

  /**
   * (extension) The recording's parts URL: `${url}/${partNumber}` takes any part in one
   * request, its size being the request's Content-Length (the reservation that
   * POST /parts makes is made by that PUT itself). Signed like the part URLs.
   */
  presignParts(args: {
    recordingId: string;
    userId: string;
    key: string;
    expiresInSeconds: number;
    origin: string;
  }): Promise<PartTarget>;

  /** The claims of a parts URL this backend issued, or null when it is forged or expired. */
  verifyPartsUrl(token: string): Promise<{ recordingId: string; userId: string; key: string } | null>;

  /**
   * The claims of a part URL this backend issued, or null when it is forged or expired.
   * `userId` and `key` are absent from URLs issued by releases before they were added.
   */
  verifyPartUrl(
    token: string,
  ): Promise<{ recordingId: string; partNumber: number; sizeBytes: number; userId?: string; key?: string } | null>;

  /**
   * Streams one part's body to storage as a new version of the part, next to
   * any earlier one, and returns its ETag, which names this version alone.
   * The body must be exactly `sizeBytes` long: longer throws PartTooLargeError
   * as soon as it passes the size, shorter throws PartIncompleteError, a full
   * disk InsufficientStorageError; in every case nothing is left behind and
   * earlier versions are untouched. Which version is the part is for the
   * caller to record (the database); it then discards the one superseded.
   */
  writePart(args: {
    key: string;
    partNumber: number;
    sizeBytes: number;
    body: Readable;
    /** Aborting it stops the write (its reason is thrown) and leaves the body undestroyed. */
    signal?: AbortSignal;
    /** Called with each chunk's length as it arrives (the body watchdog's feed). */
    onData?: (bytes: number) => void;
  }): Promise<StoredPart>;

  /** Removes one stored version of a part. Idempotent. */
  discardPart(args: { key: string; partNumber: number; etag: string }): Promise<void>;

  /** Reads one stored version of a part (the service's repair of a recording its client never finished). */
  readPart(args: { key: string; partNumber: number; etag: string; range?: ByteRange }): Promise<Readable>;

  /** Free bytes where parts are written (the size check before a part is accepted, and readiness). */
  freeBytes(): Promise<number>;
}

/** One tail object: bytes of part `partNumber` not yet in a part, the `seq`-th sent for it. */
export interface StoredTail {
  partNumber: number;
  seq: number;
  sizeBytes: number;
}

/** A presigned POST: the form fields go before the file, in this order. */
export interface TailTarget {
  url: string;
  fields: Record<string, string>;
}

/** The tails of one recording as a bucket listing shows them. */
export interface TailFolder {
  recordingId: string;
  objects: number;
  sizeBytes: number;
  lastModified: Date;
}

/** What a backend that keeps tail objects offers (see RecordingStorage.tails). */
export interface TailStore {
  /**
   * Where the client POSTs tail `seq` of part `partNumber` (a form upload): the
   * store itself refuses a body over `maxBytes` or after `expiresAt`.
   */
  presignTail(args: {
    recordingId: string;
    partNumber: number;
    seq: number;
    maxBytes: number;
    expiresAt: Date;
  }): Promise<TailTarget>;
  /** Every recording with tails in the bucket, with their count, bytes and newest write (listed `pageSize` keys a request). */
  listTailFolders(pageSize?: number): AsyncIterable<TailFolder>;
  /** Every tail stored for a recording (any order). */
  listTails(recordingId: string): Promise<StoredTail[]>;
  /** Reads one tail, streamed. */
  readTail(recordingId: string, tail: { partNumber: number; seq: number }): Promise<Readable>;
  /** Stores part `partNumber` of an unfinished upload from a stream of exactly `sizeBytes` (the folded tails). */
  uploadPart(args: {
    key: string;
    uploadId: string;
    partNumber: number;
    sizeBytes: number;
    body: Readable;
  }): Promise<StoredPart>;
  /** Removes these tails of a recording (those of parts now stored). Idempotent. */
  removeTails(recordingId: string, tails: { partNumber: number; seq: number }[]): Promise<void>;
  /** Removes every tail of a recording. Idempotent. */
  deleteTails(recordingId: string): Promise<void>;
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
/** The disk is full (ENOSPC): nothing of the part was kept; send it again later. */
export class InsufficientStorageError extends StorageError {}
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
