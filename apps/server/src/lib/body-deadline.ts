/**
 * A deadline for the body of every request but a part upload: JSON bodies and
 * thumbnails are small (2 MiB and 64 KiB at most), so a body still unfinished
 * SORTIE_HTTP_BODY_TIMEOUT_SECONDS after its headers is a stalled or trickling
 * client holding a connection. It is answered 408 and its connection closed,
 * as Node does for its own requestTimeout — which cannot be used here, being
 * one value for the whole server, and part bodies need longer (they have the
 * uploads' watchdog, uploads/body-watchdog.ts, instead).
 *
 * Only on a real Node server (c.env.incoming); app.request() in tests has no
 * socket to bound.
 */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { errorBody } from '../errors.js';
import { isPartUpload } from './http-guards.js';

/** Set on the context when the deadline ended the request: app.ts answers the body's read failure with 408. */
export const BODY_TIMED_OUT = 'bodyTimedOut';

export function bodyDeadline(timeoutMs: number): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming || incoming.complete || method === 'GET' || method === 'HEAD' || isPartUpload(method, c.req.path))
      return next();
    const timer = setTimeout(() => {
      const socket = incoming.socket;
      if (incoming.complete || !socket || socket.destroyed) return;
      c.set(BODY_TIMED_OUT as never, true as never);
      // Nothing of the answer was written (the route still waits for the body): write the 408 on the socket
      // itself, as Node's own request timeout does, and close it; the route's read of the body then fails.
      const body = JSON.stringify(
        errorBody('request_timeout', `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s.`),
      );
      socket.write(
        'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      socket.destroySoon();
    }, timeoutMs);
    timer.unref();
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
  };
}
