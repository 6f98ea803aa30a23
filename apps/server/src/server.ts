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
import { collectDefaultMetrics } from 'prom-client';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createApp, type App } from './app.js';
import type { Drain } from './lib/drain.js';
import type { Config } from './config.js';
import { migrate, openDatabase, type Database } from './db/client.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { SettingsService } from './settings/service.js';
import { createStorage } from './storage/index.js';
import { assertOutsideWebRoot } from './lib/web-root.js';
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
  /**
   * Graceful stop: refuse new connections and requests (503), let requests in
   * flight finish for up to `deadlineMs`, then cut what is left, stop the jobs
   * and close the database.
   */
  close(opts?: { deadlineMs?: number }): Promise<void>;
}

/**
 * How long in-flight requests (a part upload on a slow link) get to finish on
 * SIGTERM: under Kubernetes' default 30 s terminationGracePeriodSeconds, with
 * room for the database to close before the kubelet's SIGKILL.
 */
export const SHUTDOWN_DEADLINE_MS = 25_000;

export async function buildService(
  config: Config,
  /** jobs: start the sweeper and retention timers (default true when recording is enabled). */
  opts: { clock?: Clock; logger?: Logger; database?: Database; jobs?: boolean } = {},
): Promise<Service> {
  const logger = opts.logger ?? createLogger({ service: 'sortie-recording' });
  const clock = opts.clock ?? systemClock;
  // Before anything is opened or created: recordings or a database inside the served pages would be public.
  assertOutsideWebRoot(config, WEB_ROOT);
  const database =
    opts.database ?? (await openDatabase({ ...config, notice: (msg, fields) => logger.info(msg, fields) }));
  if (!opts.database) await migrate(database);
  const signingKey = await new SettingsService(database.db, clock).signingKey();
  const storage = await createStorage(config, { signingKey });
  const built = createApp({ config, database, storage, clock, logger, signingKey });
  // Process metrics (CPU, memory, event loop, GC) for the running service only: their monitors are per call.
  collectDefaultMetrics({ register: built.metrics.registry });

  if (existsSync(WEB_ROOT)) {
    built.app.use('/*', serveStatic({ root: WEB_ROOT }));
    // Client-side routes (/admin, …) get the page shell.
    built.app.get('/admin', serveStatic({ path: `${WEB_ROOT}admin.html` }));
  }

  // Background jobs (sweeper, retention) on unref'd timers; stopped in close() before the database closes.
  const scheduler: Scheduler | null =
    config.recordingEnabled && opts.jobs !== false
      ? startJobs({ ...built.jobs, logger: logger.child({ component: 'jobs' }) })
      : null;

  let server: ServerType | null = null;
  return {
    ...built,
    database,
    storage,
    logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve) => {
        server = serve(
          { fetch: built.app.fetch, port, hostname: host, serverOptions: httpServerOptions(config) },
          (info: AddressInfo) => resolve({ port: info.port, server: server! }),
        );
        // A client gone mid-request (a closed tab) destroys the request with "aborted"; Node emits that on a
        // later tick, when the reader that listened (a part's write, a web stream) may have let go: without a
        // listener of its own the error would be thrown and end the process. The readers see the cut anyway.
        (server as HttpServer).on('request', (req: IncomingMessage) => req.on('error', ignoreClientAbort));
      });
    },
    async close({ deadlineMs = SHUTDOWN_DEADLINE_MS } = {}) {
      built.drain.begin();
      built.jobs.sweeper.stopPending();
      const jobsStopped = scheduler?.stop();
      if (server) await closeServer(server, deadlineMs, built.drain, logger);
      await jobsStopped;
      if (!opts.database) await database.close();
    },
  };
}

function ignoreClientAbort(): void {}

/**
 * Node's own limits for the server: headers within SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS (else 408 and the
 * connection closed), checked every second rather than Node's default 30 s, so the limit is kept to about a
 * second. Node's requestTimeout (300 s) stays as the outer bound of a whole request: a part upload may
 * legitimately take minutes and has its own watchdog, and other bodies have lib/body-deadline.ts.
 */
export function httpServerOptions(config: Pick<Config, 'http'>) {
  return {
    headersTimeout: config.http.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs),
  };
}

/**
 * Stops the listener at once (new connections are refused), closes idle
 * keep-alive connections, and waits for the others to end — their responses
 * carry `Connection: close` while draining — until the deadline, when the rest
 * are cut.
 */
async function closeServer(server: ServerType, deadlineMs: number, drain: Drain, logger: Logger): Promise<void> {
  const http = server as HttpServer;
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'deadline') {
    logger.warn('shutdown deadline passed; cutting the requests still in flight', {
      deadlineMs,
      inFlight: drain.inFlight,
    });
    http.closeAllConnections();
    await closed;
  }
}
