/**
 * Builds a running service from a Config: database (migrated), storage, the
 * app, and the HTTP server. Shared by the process entry and by tests that
 * need a real listening service (benchmarks, browser runs, shutdown tests).
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { createApp, type App } from './app.js';
import type { Config } from './config.js';
import { migrate, openDatabase, type Database } from './db/client.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { SettingsService } from './settings/service.js';
import { createStorage } from './storage/index.js';
import { startJobs, type Scheduler } from './jobs/scheduler.js';
import type { RecordingStorage } from './storage/types.js';

/** The built web pages (apps/web/dist), served at / when present. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface Service extends App {
  database: Database;
  storage: RecordingStorage;
  logger: Logger;
  /** Resolves to the bound port once listening. */
  listen(port?: number, host?: string): Promise<{ port: number; server: ServerType }>;
  close(): Promise<void>;
}

export async function buildService(
  config: Config,
  /** jobs: start the sweeper and retention timers (default true when recording is enabled). */
  opts: { clock?: Clock; logger?: Logger; database?: Database; jobs?: boolean } = {},
): Promise<Service> {
  const logger = opts.logger ?? createLogger({ service: 'sortie-recording' });
  const clock = opts.clock ?? systemClock;
  const database = opts.database ?? (await openDatabase(config));
  if (!opts.database) await migrate(database);
  const storage = await createStorage(config);
  const signingKey = await new SettingsService(database.db, clock).signingKey();
  const built = createApp({ config, database, storage, clock, logger, signingKey });

  if (existsSync(WEB_ROOT)) {
    built.app.use('/*', serveStatic({ root: WEB_ROOT }));
    // Client-side routes (/admin, …) get the page shell.
    built.app.get('/admin', serveStatic({ path: `${WEB_ROOT}admin.html` }));
  }

  // Background jobs (sweeper, retention) on unref'd timers; stopped in close() before the database closes.
  const scheduler: Scheduler | null =
    config.recordingEnabled && opts.jobs !== false ? startJobs({ ...built.jobs, logger: logger.child({ component: 'jobs' }) }) : null;

  let server: ServerType | null = null;
  return {
    ...built,
    database,
    storage,
    logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve) => {
        server = serve({ fetch: built.app.fetch, port, hostname: host }, (info: AddressInfo) => resolve({ port: info.port, server: server! }));
      });
    },
    async close() {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await scheduler?.stop();
      if (!opts.database) await database.close();
    },
  };
}
