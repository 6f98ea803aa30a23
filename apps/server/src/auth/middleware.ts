/**
 * Bearer authentication (API.md §2) through Hono's own jwt (HS256 secret) and
 * jwk (RS256/ES256 from a JWKS URL) middleware. The token's `alg` header picks
 * the verifier, so a deployment may accept both during a migration.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { jwk } from 'hono/jwk';
import { jwt, decode } from 'hono/jwt';
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';
import { forbidden, unauthorized } from '../errors.js';
import { identityFromClaims, type Identity } from './identity.js';

export type AuthEnv = { Variables: { user: Identity; jwtPayload: Record<string, unknown> } };

export interface AuthOptions {
  /** HS256 secret (SORTIE_AUTH_JWT_SECRET, or the demo signing key). */
  secret: string | null;
  jwksUrl: string | null;
  /** How long fetched JWKS keys are reused. Default 5 minutes. */
  jwksCacheMs?: number;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export function bearerAuth(opts: AuthOptions): MiddlewareHandler<AuthEnv> {
  const hs = opts.secret ? jwt({ secret: opts.secret, alg: 'HS256' }) : null;
  let cache: { at: number; keys: HonoJsonWebKey[] } | null = null;
  const ttl = opts.jwksCacheMs ?? 5 * 60_000;
  const jwksUrl = opts.jwksUrl;
  const asym = jwksUrl
    ? jwk({
        alg: [...ASYMMETRIC],
        // Fetched once per TTL rather than on every request, as jwks_uri would.
        keys: async () => {
          if (!cache || Date.now() - cache.at > ttl) {
            const res = await fetch(jwksUrl);
            if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
            const body = (await res.json()) as { keys?: HonoJsonWebKey[] };
            cache = { at: Date.now(), keys: body.keys ?? [] };
          }
          return cache.keys;
        },
      })
    : null;

  return async (c, next) => {
    const header = c.req.header('authorization');
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) throw unauthorized('A bearer token is required (Authorization: Bearer <JWT>).');
    let alg: string;
    try {
      alg = decode(m[1]!).header.alg;
    } catch {
      throw unauthorized('The bearer token is not a valid JWT.');
    }
    const verifier = alg === 'HS256' ? hs : (ASYMMETRIC as readonly string[]).includes(alg) ? asym : null;
    if (!verifier) throw unauthorized(`Tokens signed with ${alg} are not accepted here.`);
    try {
      await verifier(c as Context, async () => {});
    } catch {
      throw unauthorized('The bearer token is invalid or expired.');
    }
    const claims = c.get('jwtPayload') ?? {};
    // API.md §2: exp is enforced. The verifiers check it only when present, so require it.
    if (typeof claims.exp !== 'number') throw unauthorized('The bearer token has no expiry (exp).');
    const user = identityFromClaims(claims);
    if (!user) throw unauthorized('The bearer token has no subject (sub).');
    c.set('user', user);
    await next();
  };
}

export const requireAdmin: MiddlewareHandler<AuthEnv> = async (c, next) => {
  if (!c.get('user').isAdmin) throw forbidden();
  await next();
};
