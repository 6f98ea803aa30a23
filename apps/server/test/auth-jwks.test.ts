/**
 * Identity through a JWKS endpoint (RS256), the path deployments with an
 * identity provider use: SORTIE_AUTH_JWKS_URL and no shared secret. The JWKS
 * is served by a real HTTP server on loopback.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, token, type TestApp } from './helpers.js';

function rsaKey(kid: string): { priv: JsonWebKey & { kid: string; alg: string }; pub: JsonWebKey & { kid: string; alg: string; use: string } } {
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
    for (const tok of [rs256({ sub: 'idp-user' }, stranger.priv), rs256({ sub: 'idp-user' }, idp.priv, -60), token({ sub: 'idp-user' })]) {
      const r = await t.json('GET', '/api/recordings', undefined, await bearer(tok));
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  it('takes administrators from roles: [..., "admin"] as well as role: "admin"', async () => {
    const viaRoles = await t.json('GET', '/api/admin/settings', undefined, await bearer(rs256({ sub: 'a-1', roles: ['viewer', 'admin'] })));
    expect(viaRoles.status).toBe(200);
    const viaRole = await t.json('GET', '/api/admin/settings', undefined, await bearer(rs256({ sub: 'a-2', role: 'admin' })));
    expect(viaRole.status).toBe(200);
    const plain = await t.json('GET', '/api/admin/settings', undefined, await bearer(rs256({ sub: 'u-9', roles: ['viewer'] })));
    expect(plain.status).toBe(403);
  });

  it('caches the JWKS instead of fetching it on every request', async () => {
    const before = jwksFetches;
    const headers = await bearer(rs256({ sub: 'idp-user' }));
    for (let i = 0; i < 5; i++) expect((await t.json('GET', '/api/recordings', undefined, headers)).status).toBe(200);
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });
});
