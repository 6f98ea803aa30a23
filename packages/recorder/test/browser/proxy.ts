/**
 * A round-robin reverse proxy on loopback that health-checks its upstreams, as a Kubernetes Service in front of
 * a Deployment's pods: an upstream is in the rotation while GET /readyz answers 200, and is taken out when the
 * check fails or when a connection to it is refused or cut. Requests are spread one by one (not per connection).
 * For the browser tests of several replicas (replicas.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyLogEntry {
  upstream: number;
  method: string;
  path: string;
  /** The upstream's status, or 502 when it could not answer. */
  status: number;
}

export interface Proxy {
  url: string;
  /** Every request forwarded, in the order they arrived. */
  log: ProxyLogEntry[];
  setUpstreams(urls: string[]): void;
  healthy(): boolean[];
  close(): Promise<void>;
}

const CHECK_EVERY_MS = 250;

export async function startProxy(): Promise<Proxy> {
  let upstreams: { url: URL; up: boolean }[] = [];
  let next = 0;
  const log: ProxyLogEntry[] = [];

  const check = (u: { url: URL; up: boolean }) => {
    const req = http.get(new URL('/readyz', u.url), { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      u.up = res.statusCode === 200;
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => (u.up = false));
  };
  const timer = setInterval(() => upstreams.forEach(check), CHECK_EVERY_MS);

  const server = http.createServer((req, res) => {
    const live = upstreams.map((u, i) => ({ u, i })).filter(({ u }) => u.up);
    if (live.length === 0) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"no_upstream"}}');
      return;
    }
    const { u, i } = live[next++ % live.length]!;
    const entry: ProxyLogEntry = { upstream: i, method: req.method ?? '', path: req.url ?? '', status: 0 };
    log.push(entry);
    const out = http.request(
      new URL(req.url ?? '/', u.url),
      { method: req.method, headers: req.headers, agent: false },
      (upRes) => {
        entry.status = upRes.statusCode ?? 0;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    out.on('error', () => {
      // Refused or cut: out of the rotation until its check answers 200 again.
      u.up = false;
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"bad_gateway"}}');
    });
    req.pipe(out);
    req.on('error', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    setUpstreams(urls) {
      upstreams = urls.map((url) => ({ url: new URL(url), up: false }));
      upstreams.forEach(check);
    },
    healthy: () => upstreams.map((u) => u.up),
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
