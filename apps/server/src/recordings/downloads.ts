/** Reading a ready recording: the backend's own URL for it where it has one (S3), else its bytes streamed. */
import type { Readable } from 'node:stream';
import type { Identity } from '../auth/identity.js';
import type { RecordingRow } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';
import type { ByteRange, RecordingStorage } from '../storage/types.js';
import type { RecordingQueries } from './queries.js';
import { downloadFilename } from './resource.js';

/** How long a header-less download URL stays valid: long enough to watch a long recording. */
export const DOWNLOAD_URL_TTL_SECONDS = 60 * 60;

export class Downloads {
  constructor(private readonly deps: { storage: RecordingStorage; queries: RecordingQueries }) {}

  /** The ready recording `user` may download, and the backend's own URL for it (S3) or null. */
  async readyForDownload(user: Identity, id: string): Promise<{ row: RecordingRow; presigned: string | null }> {
    const row = await this.deps.queries.getRow(user, id, 'read');
    if (row.status !== 'ready') throw notReady(row);
    const presigned = await this.deps.storage.presignDownload({
      key: row.storageKey,
      filename: downloadFilename(row),
      mimeType: row.mimeType,
      expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS,
    });
    return { row, presigned };
  }

  /** A ready recording's bytes, whole or one range. */
  async open(row: RecordingRow, range?: ByteRange): Promise<Readable> {
    if (row.status !== 'ready') throw notReady(row);
    try {
      return await this.deps.storage.read(row.storageKey, range);
    } catch (err) {
      // Deleted between the row's read and the file's (its owner, an admin, retention): gone, not a fault. A
      // file missing under a row that is still there is a lost file, and stays the fault it is.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await this.deps.queries.rowById(row.id)))
        throw notFound();
      throw err;
    }
  }
}

function notReady(row: RecordingRow) {
  return conflict(`Recording is ${row.status}; only a ready recording can be downloaded.`);
}
