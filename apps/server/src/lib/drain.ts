/**
 * Graceful shutdown, the request side: once draining begins, requests that
 * arrive (on a connection opened before the listener closed) are refused with
 * 503 `service_unavailable`, while requests already inside the app — a part
 * upload streaming to disk — run to the end. `idle()` resolves when none is
 * left. The process side (closing the listener, the deadline, the database)
 * is in server.ts and index.ts.
 */
import type { MiddlewareHandler } from 'hono';
import { errorBody } from '../errors.js';

export interface Drain {
  middleware: MiddlewareHandler;
  /** Stop taking new requests. */
  begin(): void;
  readonly draining: boolean;
  /** Requests inside the app right now. */
  readonly inFlight: number;
  /** Resolves once no request is in flight (at once if none is). */
  idle(): Promise<void>;
}

export function createDrain(): Drain {
  let draining = false;
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (inFlight > 0) return;
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    if (draining) {
      // Connection: close makes the client open a new connection, which the load balancer sends to another replica.
      return c.json(errorBody('service_unavailable', 'The service is shutting down; retry the request.'), 503, {
        Connection: 'close',
        'Retry-After': '1',
      });
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
      if (draining) {
        try {
          c.res.headers.set('Connection', 'close');
        } catch {
          // Immutable headers (a proxied Response): the listener's close handles the socket instead.
        }
      }
      settle();
    }
  };

  return {
    middleware,
    begin() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    idle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
