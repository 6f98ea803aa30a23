/**
 * createServices(config, deps): the composition root. Builds every service and job from the configuration and
 * the process's resources (the database, the storage backend, the clock, the logger, the deployment's signing
 * key) and wires them to one another; does no I/O. app.ts registers the routes over what this builds.
 */
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { AuditService } from './audit/service.js';
import { RetentionJob } from './jobs/retention.js';
import { Sweeper } from './jobs/sweeper.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { RecordingsService } from './recordings/service.js';
import { SealKeyring } from './seals/keys.js';
import { SealService } from './seals/service.js';
import { SettingsService } from './settings/service.js';
import type { RecordingStorage } from './storage/types.js';
import { TimelineService } from './timeline/service.js';

export interface ServiceDeps {
  database: Database;
  storage: RecordingStorage;
  clock: Clock;
  logger: Logger;
}

export interface Services {
  settings: SettingsService;
  recordings: RecordingsService;
  audit: AuditService;
  /** Markers and thumbnails (extension). */
  timeline: TimelineService;
  /** Prometheus metrics (GET /metrics); the retention job reports its deletions here. */
  metrics: Metrics;
  /** The keys that sign seals, published at GET /api/seal-keys. */
  sealKeys: SealKeyring;
  /** The background jobs, started on timers by server.ts (startJobs); the sealer also answers GET …/seal. */
  jobs: { retention: RetentionJob; sweeper: Sweeper; sealer: SealService };
}

export function createServices(config: Config, deps: ServiceDeps): Services {
  const { database, storage, clock, logger } = deps;
  const db = database.db;
  const settings = new SettingsService(db, clock);
  const recordings = new RecordingsService({
    db,
    storage,
    clock,
    maxSizeBytes: config.maxSizeBytes,
    perUser: config.perUser,
    uploads: config.uploads,
    minFreeBytes: config.minFreeBytes,
    logger: logger.child({ component: 'recordings' }),
  });
  const audit = new AuditService(db, clock);
  const timeline = new TimelineService(db, storage, clock, {
    maxReservedBytes: config.perUser.maxReservedBytes,
    maxMarkerBytes: config.perUser.maxMarkerBytes,
  });
  const metrics = createMetrics(db);
  const jobDeps = { db, recordings, clock, audit };
  const sealKeys = new SealKeyring(db, clock, config.sealPrivateKey);
  const jobs = {
    retention: new RetentionJob({
      ...jobDeps,
      logger: logger.child({ job: 'retention' }),
      retentionDays: config.retentionDays,
      // Whichever caller ran it: the hourly timer or an admin's run-now.
      onDeleted: (n) => metrics.retentionDeleted(n),
    }),
    sweeper: new Sweeper({
      ...jobDeps,
      logger: logger.child({ job: 'sweeper' }),
      abandonedAfterMinutes: config.abandonedAfterMinutes,
    }),
    sealer: new SealService({ db, storage, clock, keys: sealKeys, logger: logger.child({ job: 'sealer' }) }),
  };
  return { settings, recordings, audit, timeline, metrics, sealKeys, jobs };
}
