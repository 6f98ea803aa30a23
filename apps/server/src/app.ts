/**
 * createApp(deps): every route, middleware and the one error handler. Does no
 * I/O when imported or called; index.ts builds the dependencies and serves.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { sql } from 'drizzle-orm';
import { ApiError, errorBody, type ErrorCode } from './errors.js';
import { bearerAuth, type AuthEnv } from './auth/middleware.js';
import { demoRoutes } from './auth/demo.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { RecordingsService } from './recordings/service.js';
import { recordingRoutes, transferRoutes } from './recordings/routes.js';
import { SettingsService } from './settings/service.js';
import type { RecordingStorage } from './storage/types.js';

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
  recordings: RecordingsService;
  settings: SettingsService;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  503: 'service_unavailable',
};

export function createApp(deps: AppDeps): App {
  const { config, database, storage, clock, logger } = deps;
  const settings = new SettingsService(database.db, clock);
  const recordings = new RecordingsService({ db: database.db, storage, clock, maxSizeBytes: config.maxSizeBytes });
  // Demo tokens are signed with the configured secret when there is one, else the deployment key.
  const hsSecret = config.auth.jwtSecret ?? (config.demo ? deps.signingKey : null);

  const app = new Hono<AuthEnv>();
  app.use('*', requestId());

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

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks: Record<string, string> = {};
    try {
      await database.db.execute(sql`select 1`);
      checks.database = 'ok';
    } catch {
      checks.database = 'unavailable';
    }
    try {
      await storage.check();
      checks.storage = 'ok';
    } catch {
      checks.storage = 'unavailable';
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return c.json({ status: ok ? 'ready' : 'not_ready', checks }, ok ? 200 : 503);
  });

  if (config.demo && hsSecret) app.route('/api/demo', demoRoutes(hsSecret));

  if (config.recordingEnabled) {
    const routeDeps = { service: recordings, settings, clock, signingKey: deps.signingKey, publicUrl: config.publicUrl };
    app.route('/api', transferRoutes(routeDeps));
    app.use('/api/recordings/*', bearerAuth({ secret: hsSecret, jwksUrl: config.auth.jwksUrl }));
    app.use('/api/recordings', bearerAuth({ secret: hsSecret, jwksUrl: config.auth.jwksUrl }));
    app.route('/api/recordings', recordingRoutes(routeDeps));
  }

  app.notFound((c) => c.json(errorBody('not_found', 'No such route.'), 404));

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
    if (err instanceof HTTPException) {
      const code = CODE_BY_STATUS[err.status] ?? 'invalid_request';
      const message = err.status === 400 ? 'The request body is not valid JSON.' : err.message || code;
      return c.json(errorBody(code, message), err.status as 400);
    }
    logger.error('unhandled error', { err: err instanceof Error ? err.stack : String(err), path: c.req.path, requestId: c.get('requestId' as never) });
    return c.json(errorBody('internal', 'Something went wrong on our side; it has been logged.'), 500);
  });

  return { app, recordings, settings };
}
