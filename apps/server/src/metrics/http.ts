/**
 * One middleware that watches every request once it is answered: a JSON log
 * line (request id, method, route pattern, status, duration) and the HTTP and
 * upload metrics. It logs the route *pattern*, never the raw path: the path of
 * a local upload or a header-less download carries a bearer-equivalent token
 * (/api/uploads/:token, /api/files/:token) that must not land in logs.
 */
import type { MiddlewareHandler } from 'hono';
import { decode } from 'hono/jwt';
import { routePath } from 'hono/route';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './index.js';

/** Probes and scrapes hit these every few seconds; their successes would drown the log. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export const UPLOAD_ROUTE = '/api/uploads/:token';
/** (extension) A part in one request, to the recording's parts URL. */
export const PARTS_URL_ROUTE = '/api/uploads/:token/:partNumber';
export const PARTS_ROUTE = '/api/recordings/:id/parts';

export function observeRequests(opts: { metrics: Metrics; logger: Logger }): MiddlewareHandler {
  const { metrics, logger } = opts;
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const status = c.res.status;
    const method = c.req.method;
    // After next(), routeIndex points at the handler (or middleware) that answered.
    const route = routePath(c) || 'unmatched';
    metrics.observeRequest(method, route, status);
    if (status === 200 && method === 'PUT' && route === UPLOAD_ROUTE) {
      metrics.partReceived(partSize(c.req.param('token')), seconds);
    } else if (status === 200 && method === 'PUT' && route === PARTS_URL_ROUTE) {
      // Its size is its Content-Length, which the route required and stored exactly.
      metrics.partReceived(Number(c.req.header('content-length')), seconds);
    } else if (status === 200 && method === 'POST' && route === PARTS_ROUTE) {
      metrics.partUrlIssued();
    }
    if (status < 400 && QUIET_ROUTES.has(route)) return;
    const fields = {
      requestId: c.get('requestId' as never) as string | undefined,
      method,
      route,
      status,
      durationMs: Math.round(seconds * 10000) / 10,
    };
    if (status >= 500) logger.error('request', fields);
    else logger.info('request', fields);
  };
}

/**
 * The part's size from its upload token. The route answered 200, so the token
 * was verified and exactly that many bytes were stored — this also covers a
 * chunked PUT that sent no Content-Length.
 */
function partSize(token: string | undefined): number {
  if (!token) return 0;
  try {
    const size = decode(token).payload.size;
    return typeof size === 'number' ? size : 0;
  } catch {
    return 0;
  }
}
