/**
 * Identity through a JWKS endpoint (RS256), the path deployments with an
 * identity provider use: SORTIE_AUTH_JWKS_URL and no shared secret. The JWKS
 * is served by a real HTTP server on loopback.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerAuth, type AuthEnv } from '../src/auth/middleware.js';
import { DomainError, httpStatus } from '../src/errors.js';
import { testApp, token, type TestApp } from './helpers.js';

function rsaKey(kid: string): {
  priv: JsonWebKey & { kid: string; alg: string };
  pub: JsonWebKey & { kid: string; alg: string; use: string };
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = (k: KeyObject) => k.export({ format: 'jwk' }) as JsonWebKey;
  return { priv: { ...jwk(privateKey), kid, alg: 'RS256' }, pub: { ...jwk(publicKey), kid, alg: 'RS256', use: 'sig' } };
}

const idp = rsaKey('idp-key-1');
const stranger = rsaKey('idp-key-1'); // same kid, other key: a forgery
let jwksServer: http.Server;
let jwksFetches = 0;
let t: TestApp;

beforeAll(async () => {
  jwksServer = http.createServer((req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [idp.pub] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  // No SORTIE_AUTH_JWT_SECRET: RS256 through the JWKS is the only way in.
  t = await testApp({ env: { SORTIE_AUTH_JWT_SECRET: '', SORTIE_AUTH_JWKS_URL: url } });
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => jwksServer?.close(() => r()));
});

const rs256 = (claims: Record<string, unknown>, key = idp.priv, expiresIn = 3600) => {
  const now = Math.floor(Date.now() / 1000);
  return sign({ iat: now, exp: now + expiresIn, ...claims }, key as never, 'RS256');
};
const bearer = async (tok: string | Promise<string>) => ({ authorization: `Bearer ${await tok}` });

describe('JWKS (RS256) identity', () => {
  it('accepts a token signed by a key of the JWKS, and its subject owns what it creates', async () => {
    const headers = await bearer(rs256({ sub: 'idp-user', name: 'Katherine Johnson' }));
    const r = await t.json('POST', '/api/recordings', { sessionId: 'jwks', mimeType: 'video/webm' }, headers);
    expect(r.status).toBe(201);
    expect(await r.json()).toMatchObject({ userId: 'idp-user', userName: 'Katherine Johnson' });
  });

  it('refuses a token signed by another key under the same kid, an expired one, and an HS256 one (401)', async () => {
    for (const tok of [
      rs256({ sub: 'idp-user' }, stranger.priv),
      rs256({ sub: 'idp-user' }, idp.priv, -60),
      token({ sub: 'idp-user' }),
    ]) {
      const r = await t.json('GET', '/api/recordings', undefined, await bearer(tok));
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  it('takes administrators from roles: [..., "admin"] as well as role: "admin"', async () => {
    const viaRoles = await t.json(
      'GET',
      '/api/admin/settings',
      undefined,
      await bearer(rs256({ sub: 'a-1', roles: ['viewer', 'admin'] })),
    );
    expect(viaRoles.status).toBe(200);
    const viaRole = await t.json(
      'GET',
      '/api/admin/settings',
      undefined,
      await bearer(rs256({ sub: 'a-2', role: 'admin' })),
    );
    expect(viaRole.status).toBe(200);
    const plain = await t.json(
      'GET',
      '/api/admin/settings',
      undefined,
      await bearer(rs256({ sub: 'u-9', roles: ['viewer'] })),
    );
    expect(plain.status).toBe(403);
  });

  it('caches the JWKS instead of fetching it on every request', async () => {
    const before = jwksFetches;
    const headers = await bearer(rs256({ sub: 'idp-user' }));
    for (let i = 0; i < 5; i++) expect((await t.json('GET', '/api/recordings', undefined, headers)).status).toBe(200);
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });
});

/**
 * An identity provider that is slow or down never hangs a request: the JWKS
 * fetch has a timeout, one fetch in flight, a backoff after failure, and the
 * last good keys keep serving. Real HTTP servers on loopback play the
 * identity provider, well or badly.
 */
describe('JWKS endpoint that is slow, down or hanging', () => {
  /** A JWKS server whose behaviour a test switches: answer (after `delayMs`), fail with 500, or never answer. */
  async function idpServer() {
    const state = { mode: 'ok' as 'ok' | 'error' | 'hang', delayMs: 0, fetches: 0, keys: [idp.pub] as unknown[] };
    const server = http.createServer((req, res) => {
      state.fetches++;
      if (state.mode === 'hang') return; // accepted, read, never answered
      if (state.mode === 'error') return void res.writeHead(500).end('down');
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys })),
        state.delayMs,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    return {
      state,
      url,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }

  /** A small app behind bearerAuth alone, with the service's own error mapping (status and Retry-After). */
  async function authApp(url: string, jwks: Parameters<typeof bearerAuth>[0]['jwks']) {
    const app = new Hono<AuthEnv>();
    app.use('*', bearerAuth({ secret: null, jwksUrl: url, jwks }));
    app.get('/', (c) => c.json({ sub: c.get('user').id }));
    app.onError((err, c) => {
      if (!(err instanceof DomainError)) throw err;
      if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(err.retryAfterSeconds));
      return c.json({ error: { code: err.code } }, httpStatus(err.code));
    });
    return (tok: string) => app.request('/', { headers: { authorization: `Bearer ${tok}` } });
  }

  it('20 concurrent requests with no keys yet make one fetch, and all pass', async () => {
    const s = await idpServer();
    s.state.delayMs = 300;
    const app = await testApp({ env: { SORTIE_AUTH_JWT_SECRET: '', SORTIE_AUTH_JWKS_URL: s.url } });
    try {
      const headers = await bearer(rs256({ sub: 'idp-user' }));
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => app.json('GET', '/api/recordings', undefined, headers)),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(s.state.fetches).toBe(1);
    } finally {
      await app.close();
      await s.close();
    }
    // Opening a fresh database takes most of this test's time on a loaded machine.
  }, 120_000);

  it('an endpoint that accepts and never answers: RS256 requests get 503 with Retry-After within the timeout (5 s), not a hang', async () => {
    const s = await idpServer();
    s.state.mode = 'hang';
    const app = await testApp({ env: { SORTIE_AUTH_JWT_SECRET: '', SORTIE_AUTH_JWKS_URL: s.url } });
    try {
      const headers = await bearer(rs256({ sub: 'idp-user' }));
      const started = Date.now();
      // Several at once: they share the one fetch and its one timeout.
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => app.json('GET', '/api/recordings', undefined, headers)),
      );
      const elapsed = Date.now() - started;
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // The default timeout is 5 s; the margin is for a loaded machine. Without a timeout this never returns.
      expect(elapsed).toBeLessThan(20_000);
      expect(s.state.fetches).toBe(1);
      // Within the backoff the next request fails at once, with no new fetch.
      const again = await app.json('GET', '/api/recordings', undefined, headers);
      expect(again.status).toBe(503);
      expect(s.state.fetches).toBe(1);
    } finally {
      await app.close();
      await s.close();
    }
  }, 120_000);

  it('keeps serving the last good keys once the endpoint is down; refreshes in the background, one at a time', async () => {
    const s = await idpServer();
    // A clock of the test's own: the cache's notion of "stale" and "backoff" does not depend on the machine's speed.
    let now = Date.now();
    const send = await authApp(s.url, { cacheMs: 1000, timeoutMs: 500, retryMinMs: 60_000, now: () => now });
    try {
      const tok = await rs256({ sub: 'idp-user' });
      expect((await send(tok)).status).toBe(200);
      expect(s.state.fetches).toBe(1);
      for (const mode of ['error', 'hang'] as const) {
        s.state.mode = mode;
        now += 2000; // past cacheMs: the keys are stale
        const answers = await Promise.all(Array.from({ length: 10 }, () => send(tok)));
        expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      }
      // One refresh failed ('error'); then the backoff (60 s) held back any other, the hanging one included.
      expect(s.state.fetches).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('no keys ever loaded and the endpoint down: 503 at once during the backoff, 200 once it is back', async () => {
    const s = await idpServer();
    s.state.mode = 'error';
    let now = Date.now();
    const send = await authApp(s.url, { timeoutMs: 2000, retryMinMs: 2000, now: () => now });
    try {
      const tok = await rs256({ sub: 'idp-user' });
      expect((await send(tok)).status).toBe(503);
      now += 1000; // within the backoff: no fetch, 503 at once
      const again = await send(tok);
      expect(again.status).toBe(503);
      expect(again.headers.get('retry-after')).toBe('1');
      expect(s.state.fetches).toBe(1);
      s.state.mode = 'ok';
      now += 1500; // past it
      expect((await send(tok)).status).toBe(200);
      expect(s.state.fetches).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('an unknown kid refreshes the keys (rotation), at most once per interval however many tokens carry one', async () => {
    const s = await idpServer();
    let now = Date.now();
    const send = await authApp(s.url, { refreshMinIntervalMs: 60_000, now: () => now });
    try {
      expect((await send(await rs256({ sub: 'idp-user' }))).status).toBe(200);
      // An unknown kid right after a fetch does not fetch again; a minute later it does.
      expect((await send(await rs256({ sub: 'idp-user' }, rsaKey('idp-key-2').priv))).status).toBe(401);
      expect(s.state.fetches).toBe(1);
      now += 61_000;
      // The provider rotates: a new key under a new kid. The first token signed with it makes the cache look again.
      const rotated = rsaKey('idp-key-2');
      s.state.keys = [idp.pub, rotated.pub];
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => rs256({ sub: 'idp-user' }, rotated.priv).then(send)),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(s.state.fetches).toBe(2);
      // Forged kids: refused (401), and no fetch each: the last attempt was within the interval.
      const forger = rsaKey('made-up-kid');
      const forged = await Promise.all(
        Array.from({ length: 10 }, () => rs256({ sub: 'idp-user' }, forger.priv).then(send)),
      );
      expect(forged.map((r) => r.status)).toEqual(Array(10).fill(401));
      expect(s.state.fetches).toBe(2);
    } finally {
      await s.close();
    }
  });
});
