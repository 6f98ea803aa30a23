/**
 * A part store on another loopback origin, for blocked.test.ts: while `blocked` it answers every request
 * (the CORS preflight included) without Access-Control-Allow-Origin, as a bucket or proxy without a CORS
 * rule does, so the browser refuses the PUT before it is sent (fetch rejects with a TypeError). Once
 * opened it answers the preflight and passes each part to the service with the CORS headers a good setup
 * sends (the ETag exposed).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NoCorsStore {
  /** Its origin, e.g. http://127.0.0.1:40123. */
  origin: string;
  blocked: boolean;
  /** Requests it answered, by method, while blocked and once open. */
  seen: { blocked: number; open: number };
  close(): Promise<void>;
}

export async function startNoCorsStore(serviceUrl: string): Promise<NoCorsStore> {
  const store: NoCorsStore = { origin: '', blocked: true, seen: { blocked: 0, open: 0 }, close: async () => {} };
  const server = http.createServer((req, res) => {
    // A tab closed mid-request must not throw in the test process.
    req.on('error', () => {});
    res.on('error', () => {});
    if (store.blocked) {
      store.seen.blocked++;
      req.resume();
      res.writeHead(200, { ETag: '"never-seen"' }).end();
      return;
    }
    store.seen.open++;
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'PUT',
      'Access-Control-Allow-Headers': '*',
      'Access-Control-Expose-Headers': 'ETag',
    };
    if (req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, cors).end();
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !/^(host|connection|origin|referer|content-length|sec-)/i.test(k)) headers[k] = v;
      fetch(new URL(req.url ?? '/', serviceUrl), { method: req.method ?? 'PUT', headers, body: Buffer.concat(body) })
        .then(async (up) => {
          const etag = up.headers.get('etag');
          res
            .writeHead(up.status, {
              ...cors,
              'Content-Type': up.headers.get('content-type') ?? 'text/plain',
              ...(etag ? { ETag: etag } : {}),
            })
            .end(Buffer.from(await up.arrayBuffer()));
        })
        .catch(() => res.writeHead(502, cors).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  store.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return store;
}
