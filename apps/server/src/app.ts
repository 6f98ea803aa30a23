/**
 * createApp(deps): every route, middleware and the one error handler, over the services createServices builds
 * (services.ts). Does no I/O when imported or called; server.ts builds the dependencies and serves.
 */
import type { Readiness } from '@sortie/contract';
import { Hono, type ErrorHandler } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import { createDrain, type Drain } from './lib/drain.js';
import type { Metrics } from './metrics/index.js';
import { observeRequests } from './metrics/http.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { sql } from 'drizzle-orm';
import { DomainError, errorBody, httpStatus, type ErrorCode } from './errors.js';
import { bearerAuth, requireAdmin, type AuthEnv } from './auth/middleware.js';
import { AUDITOR_READS, adminRoutes } from './admin/routes.js';
import type { AuditAction, AuditService } from './audit/service.js';
import type { RetentionJob } from './jobs/retention.js';
import type { Sweeper } from './jobs/sweeper.js';
import { demoRoutes, demoSigningKey } from './auth/demo.js';
import { jsonBodyLimit, securityHeaders } from './lib/http-guards.js';
import { BODY_TIMED_OUT, bodyDeadline } from './lib/body-deadline.js';
import { sealKeyRoutes, sealRoutes } from './seals/routes.js';
import type { SealService } from './seals/service.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import type { RecordingsService } from './recordings/service.js';
import { recordingRoutes, transferRoutes, type ForeignRead, type RecordingRoutesDeps } from './recordings/routes.js';
import type { SettingsService } from './settings/service.js';
import { thumbnailFileRoutes, timelineRoutes } from './timeline/routes.js';
import { createServices, type Services } from './services.js';
import type { RecordingStorage } from './storage/types.js';
import type { Identity } from './auth/identity.js';
import type { RecordingRow } from './db/schema.js';

export interface AppDeps {
  config: Config;
  database: Database;
  storage: RecordingStorage;
  clock: Clock;
  logger: Logger;
  /** The deployment's key for the service's own signed URLs (settings.signingKey). */
  signingKey: string;
}

export interface App {
  app: Hono<AuthEnv>;
  /** Prometheus metrics of this app (GET /metrics); the retention job reports its deletions here. */
  metrics: Metrics;
  /** Graceful shutdown: server.ts begins the drain on SIGTERM and waits for in-flight requests. */
  drain: Drain;
  recordings: RecordingsService;
  settings: SettingsService;
  audit: AuditService;
  /** The background jobs, built here and started on timers by server.ts (startJobs). */
  jobs: { retention: RetentionJob; sweeper: Sweeper; sealer: SealService };
}

const FOREIGN_READ_ACTION = {
  download: 'recording.download',
  download_url: 'recording.download_url',
  thumbnails: 'recording.thumbnails',
  view: 'recording.view',
  seal: 'recording.seal',
  markers: 'recording.markers',
} as const satisfies Record<ForeignRead, AuditAction>;

/** The reads of a recording's content: audited whoever reads someone else's (the rest, for auditors only). */
const CONTENT_READS: ReadonlySet<ForeignRead> = new Set(['download', 'download_url', 'thumbnails']);

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  503: 'service_unavailable',
};

/** Node's error for a request whose connection closed before its body ended ('aborted', ECONNRESET), however wrapped. */
function isClientAbort(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' && e.message === 'aborted') return true;
  }
  return false;
}

export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const services = createServices(config, deps);
  const app = new Hono<AuthEnv>();
  app.use('*', requestId());
  // CSP, nosniff, Referrer-Policy, frame-ancestors on every answer: the pages, the API, the downloads (lib/http-guards.ts).
  app.use('*', securityHeaders(config));
  // Observe first, so that the drain's 503s are logged and counted too.
  const drain = createDrain();
  app.use('*', observeRequests({ metrics: services.metrics, logger: deps.logger }));
  app.use('*', drain.middleware);
  if (config.corsOrigins.length > 0) {
    app.use(
      '/api/*',
      cors({
        origin: config.corsOrigins,
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'Range'],
        exposeHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Content-Disposition', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }
  // A stalled or trickling body (but a part's) is cut off after SORTIE_HTTP_BODY_TIMEOUT_SECONDS (lib/body-deadline.ts).
  app.use('*', bodyDeadline(config.http.bodyTimeoutMs));
  // Every body read whole is JSON of at most 2 MiB, refused before it is buffered; part PUTs stream under their own limits.
  app.use('*', jsonBodyLimit());

  probeRoutes(app, deps, services.metrics);
  // HS256 bearer tokens: the configured secret, or in demo mode (which config.ts refuses beside a secret or a
  // JWKS) the demo key of its own, derived from the deployment key.
  const hsSecret = config.demo ? demoSigningKey(deps.signingKey) : config.auth.jwtSecret;
  if (config.demo && hsSecret) app.route('/api/demo', demoRoutes(hsSecret));
  if (config.recordingEnabled) apiRoutes(app, deps, services, hsSecret);

  app.notFound((c) => c.json(errorBody('not_found', 'No such route.'), 404));
  app.onError(errorHandler(deps.logger));
  const { recordings, settings, audit, jobs, metrics } = services;
  return { app, recordings, settings, audit, jobs, metrics, drain };
}

/** /healthz, /metrics and /readyz: unauthenticated like the probes (restrict /metrics at the ingress). */
function probeRoutes(app: Hono<AuthEnv>, deps: AppDeps, metrics: Metrics): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    const { body, contentType } = await metrics.render();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
  app.get('/readyz', async (c) => {
    const checks: Record<string, string> = {};
    try {
      await deps.database.db.execute(sql`select 1`);
      checks.database = 'ok';
    } catch {
      checks.database = 'unavailable';
    }
    try {
      await deps.storage.check();
      checks.storage = 'ok';
    } catch {
      checks.storage = 'unavailable';
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return c.json({ status: ok ? 'ready' : 'not_ready', checks } satisfies Readiness, ok ? 200 : 503);
  });
}

/** The recordings API, its signed-URL routes, markers and thumbnails, and the admin API. */
function apiRoutes(app: Hono<AuthEnv>, deps: AppDeps, services: Services, hsSecret: string | null): void {
  const { config, clock } = deps;
  const { recordings, settings, audit, jobs, timeline } = services;
  const routeDeps: RecordingRoutesDeps = {
    service: recordings,
    settings,
    clock,
    signingKey: deps.signingKey,
    publicUrl: config.publicUrl,
    capture: config.capture,
    ...auditHooks(audit),
    onEndRequested: (id: string) => jobs.sweeper.settleSoon(id),
  };
  // One verifier for every bearer route, so the JWKS cache is shared.
  const auth = bearerAuth({ secret: hsSecret, jwksUrl: config.auth.jwksUrl });
  app.route('/api', transferRoutes(routeDeps));
  app.use('/api/recordings/*', auth);
  app.use('/api/recordings', auth);
  app.route('/api/recordings', recordingRoutes(routeDeps));
  app.route('/api/recordings', sealRoutes({ recordings, seals: jobs.sealer, onForeignRead: routeDeps.onForeignRead }));
  // The seals' public keys: anyone may check a seal (no bearer guard on /api/seal-keys).
  app.route('/api', sealKeyRoutes(services.sealKeys));
  // Markers and thumbnails (extension): under the same bearer guard, and the thumbnails' own signed-URL route.
  const timelineDeps = {
    recordings,
    timeline,
    clock,
    signingKey: deps.signingKey,
    publicUrl: config.publicUrl,
    onForeignRead: routeDeps.onForeignRead,
  };
  app.route('/api/recordings', timelineRoutes(timelineDeps));
  app.route('/api', thumbnailFileRoutes(timelineDeps));
  app.use('/api/admin/*', auth, requireAdmin('/api/admin', AUDITOR_READS));
  app.route(
    '/api/admin',
    adminRoutes({ recordings, settings, audit, retention: jobs.retention, db: deps.database.db, clock }),
  );
}

/** The audit trail of administrators and auditors acting on other people's recordings. */
function auditHooks(audit: AuditService): Pick<RecordingRoutesDeps, 'onForeignDelete' | 'onForeignRead'> {
  return {
    onForeignDelete: (user: Identity, row: RecordingRow) =>
      audit.record({
        actor: user,
        action: 'recording.delete',
        recordingId: row.id,
        details: { userId: row.userId, sessionId: row.sessionId },
      }),
    // Coalesced per reader, recording and action (audit/service.ts READ_AUDIT_WINDOW_MS): seeking is one entry.
    // An admin's reads of content are on the record; an auditor's every read is, metadata, seal and markers too.
    onForeignRead: async (user: Identity, row: RecordingRow, how: ForeignRead) => {
      if (!user.isAuditor && !CONTENT_READS.has(how)) return;
      await audit.recordCoalesced({
        actor: user,
        action: FOREIGN_READ_ACTION[how],
        recordingId: row.id,
        details: { userId: row.userId, sessionId: row.sessionId },
      });
    },
  };
}

/** The one error handler: a DomainError as the contract's error body, anything unexpected logged and a 500. */
function errorHandler(logger: Logger): ErrorHandler<AuthEnv> {
  return (err, c) => {
    if (c.get(BODY_TIMED_OUT as never)) {
      // The deadline already answered 408 on the socket and closed it; this answer goes nowhere.
      return c.json(errorBody('request_timeout', 'The request body did not arrive in time.'), 408);
    }
    if (err instanceof DomainError) {
      if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(err.retryAfterSeconds));
      return c.json(errorBody(err.code, err.message), httpStatus(err.code));
    }
    if (err instanceof HTTPException) {
      const code = CODE_BY_STATUS[err.status] ?? 'invalid_request';
      const message = err.status === 400 ? 'The request body is not valid JSON.' : err.message || code;
      return c.json(errorBody(code, message), err.status as 400);
    }
    if (isClientAbort(err)) {
      // The client closed the connection while its body was being read: no one will read this answer, and it
      // is no fault of ours (it was logged as an unhandled error and counted as a 500 before).
      logger.info('request body cut off by the client', {
        route: routePath(c) || 'unmatched',
        requestId: c.get('requestId' as never),
      });
      return c.json(errorBody('invalid_request', 'The request body was cut off before its end.'), 400);
    }
    logger.error('unhandled error', {
      err: err instanceof Error ? err.stack : String(err),
      route: routePath(c) || 'unmatched',
      requestId: c.get('requestId' as never),
    });
    return c.json(errorBody('internal', 'Something went wrong on our side; it has been logged.'), 500);
  };
}
