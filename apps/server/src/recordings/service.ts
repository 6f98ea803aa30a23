/**
 * The recordings service: one handle on its rooms, built on one connection (or a job's transaction, withDb).
 * Routes and jobs call the rooms; the rooms call storage and the database.
 *
 * - queries.ts: the lists and one row's lookups.
 * - parts.ts: a new recording, each part's reservation and URL, and the bytes the service receives.
 * - finalize.ts: complete and the sweeper's finalize, up to ready.
 * - lifecycle.ts: stop, fail, a beacon's end, delete.
 * - downloads.ts: a ready recording's URL or bytes.
 * - upload-strategy.ts: what differs between a backend that receives the bytes (local) and one that presigns (S3).
 */
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import type { RecordingRow } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { UploadGate } from '../uploads/gate.js';
import type { RecordingStorage } from '../storage/types.js';
import type { RecordingConfig } from '@sortie/contract';
import { Downloads } from './downloads.js';
import { Finalizer } from './finalize.js';
import { RecordingLifecycle } from './lifecycle.js';
import { PartsService, type UploadLimits } from './parts.js';
import { RecordingQueries, type RowAccess } from './queries.js';
import { removeOrphanTails, removeSupersededTails, type TailDeps } from './tails.js';
import { uploadStrategyFor, type UploadStrategy } from './upload-strategy.js';

export { toResource, downloadFilename, type Recording } from './resource.js';
export { LIST_COUNT_CAP, type ListFilter, type Page } from './queries.js';
export { PART_URL_TTL_SECONDS } from './upload-strategy.js';

export interface RecordingsServiceOptions {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  /** SORTIE_RECORDING_MAX_SIZE_MB in bytes. */
  maxSizeBytes: number;
  /** Per-user caps (SORTIE_RECORDING_MAX_OPEN_PER_USER, SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER). Default: none. */
  perUser?: { maxOpenRecordings: number; maxReservedBytes: number };
  /** Limits on bodies received through the service (SORTIE_UPLOAD_*). Default: 256 / 8 at once, 30 s idle, 1 KiB/s. */
  uploads?: UploadLimits;
  /** SORTIE_RECORDING_MIN_FREE_MB in bytes: a part that would leave less free disk is refused (507). Default 0. */
  minFreeBytes?: number;
  /** Where the repair of a recording finalized without its client logs (repair.ts). Default: stdout. */
  logger?: Logger;
}

const DEFAULT_UPLOADS: UploadLimits = {
  maxConcurrent: 256,
  maxConcurrentPerUser: 8,
  idleTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
};

export class RecordingsService {
  readonly storage: RecordingStorage;
  readonly maxSizeBytes: number;
  /** Shared by every copy made with withDb: the caps are per process. */
  readonly gate: UploadGate;
  readonly queries: RecordingQueries;
  readonly parts: PartsService;
  readonly finalizer: Finalizer;
  readonly lifecycle: RecordingLifecycle;
  readonly downloads: Downloads;
  /** What the backend does with part bytes: receives them (local) or presigns them away (S3). */
  readonly strategy: UploadStrategy;
  private readonly opts: RecordingsServiceOptions;
  private readonly tailDeps: TailDeps & { logger: Logger };

  constructor(opts: RecordingsServiceOptions, gate?: UploadGate) {
    this.opts = opts;
    const { db, storage, clock, maxSizeBytes } = opts;
    const logger = opts.logger ?? createLogger({ service: 'sortie-recording', component: 'recordings' });
    const uploads = opts.uploads ?? DEFAULT_UPLOADS;
    this.storage = storage;
    this.maxSizeBytes = maxSizeBytes;
    this.gate = gate ?? new UploadGate(uploads);
    this.tailDeps = { db, storage, clock, maxSizeBytes, userCapBytes: opts.perUser?.maxReservedBytes, logger };
    this.strategy = uploadStrategyFor({ ...this.tailDeps, minFreeBytes: opts.minFreeBytes ?? 0 });
    const rooms = { db, storage, clock, strategy: this.strategy, queries: new RecordingQueries(db, clock) };
    this.queries = rooms.queries;
    this.parts = new PartsService({
      ...rooms,
      gate: this.gate,
      uploads,
      maxSizeBytes,
      perUser: opts.perUser,
      tails: this.tailDeps,
    });
    this.finalizer = new Finalizer({ ...rooms, maxSizeBytes });
    this.lifecycle = new RecordingLifecycle(rooms);
    this.downloads = new Downloads(rooms);
  }

  /** The same service on another connection or transaction (the jobs run it on theirs). */
  withDb(db: Db): RecordingsService {
    return new RecordingsService({ ...this.opts, db }, this.gate);
  }

  /** What GET /config says of uploads: the limits, the backend's part rules, who writes the Duration. */
  uploadConfig(): Pick<
    RecordingConfig,
    'maxSizeBytes' | 'backend' | 'minPartSizeBytes' | 'maxParts' | 'writesDuration'
  > {
    return {
      maxSizeBytes: this.maxSizeBytes,
      backend: this.storage.backend,
      minPartSizeBytes: this.storage.minPartSizeBytes,
      maxParts: this.storage.maxParts,
      writesDuration: this.strategy.writesDuration,
    };
  }

  /** The row if `user` may act on it in this way (RecordingQueries.getRow): else 404, or 403 for an auditor. */
  getRow(user: Identity, id: string, access: RowAccess): Promise<RecordingRow> {
    return this.queries.getRow(user, id, access);
  }

  /** The row with no ownership check: for callers already authorized by a signed URL or a job. */
  rowById(id: string): Promise<RecordingRow | null> {
    return this.queries.rowById(id);
  }

  /** Removes tails of no open recording (S3; the sweeper, tails.ts). */
  removeOrphanTails(): Promise<number> {
    return removeOrphanTails(this.tailDeps);
  }

  /** S3: tails of parts stored in full, of open recordings whose targets have all expired (tails.ts). */
  removeSupersededTails(): Promise<number> {
    return removeSupersededTails(this.tailDeps);
  }
}
