/**
 * Bearer authentication (docs/API.md §2): HS256 tokens checked with the
 * configured secret (or demo mode's own key), RS256/ES256/… tokens with the
 * keys of SORTIE_AUTH_JWKS_URL (auth/jwks.ts: timeout, one shared fetch,
 * backoff, last good keys kept). The token's `alg` header picks the check, so
 * a deployment may accept both during a migration.
 */
import type { MiddlewareHandler } from 'hono';
import { decode, verify, verifyWithJwks } from 'hono/jwt';
import { DomainError, forbidden, unauthorized } from '../errors.js';
import { jwtTextIsWellFormed } from './claims-text.js';
import { identityFromClaims, type Identity } from './identity.js';
import { JwksCache, JwksUnavailableError, type JwksOptions } from './jwks.js';

export type AuthEnv = { Variables: { user: Identity; jwtPayload: Record<string, unknown> } };

export interface AuthOptions {
  /** HS256 secret (SORTIE_AUTH_JWT_SECRET, or the demo signing key). */
  secret: string | null;
  jwksUrl: string | null;
  /** Timings of the JWKS fetch (auth/jwks.ts); the defaults suit production, tests shorten them. */
  jwks?: Omit<JwksOptions, 'url'>;
}

/**
 * How long an HS256 bearer token is taken as verified without checking it again
 * (never past its own exp). A recorder sends two requests per part with the same
 * token; the check (a WebCrypto HMAC, a thread-pool job) is among the larger
 * costs of a small part. Only HS256: its secret is fixed for the process, while
 * JWKS-verified tokens follow the key set's refreshes and rotations (jwks.ts).
 */
const VERIFIED_TTL_MS = 60_000;
/** Tokens remembered at most; the map is emptied when full (a simple bound, no LRU bookkeeping per request). */
const VERIFIED_MAX = 10_000;

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export function bearerAuth(opts: AuthOptions): MiddlewareHandler<AuthEnv> {
  const secret = opts.secret;
  // One cache per app: every bearer route shares its keys and its one fetch in flight.
  const jwks = opts.jwksUrl ? new JwksCache({ ...opts.jwks, url: opts.jwksUrl }) : null;

  async function verifyAsymmetric(token: string, kid: unknown): Promise<Record<string, unknown>> {
    let keys;
    try {
      keys = await jwks!.keysFor(typeof kid === 'string' ? kid : undefined);
    } catch (err) {
      if (!(err instanceof JwksUnavailableError)) throw err;
      // 503, not 401: the token may be valid, and a 401 would send the client off to fetch a new one.
      throw new DomainError(
        'service_unavailable',
        "The identity provider's signing keys (SORTIE_AUTH_JWKS_URL) cannot be fetched right now; try again shortly.",
        {
          retryAfterSeconds: Math.max(1, Math.ceil(err.retryAfterMs / 1000)),
        },
      );
    }
    try {
      return (await verifyWithJwks(token, { keys, allowedAlgorithms: [...ASYMMETRIC] })) as Record<string, unknown>;
    } catch {
      throw unauthorized('The bearer token is invalid or expired.');
    }
  }

  const verified = new Map<string, { claims: Record<string, unknown>; user: Identity; until: number }>();

  return async (c, next) => {
    const header = c.req.header('authorization');
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) throw unauthorized('A bearer token is required (Authorization: Bearer <JWT>).');
    const token = m[1]!;
    const known = verified.get(token);
    if (known) {
      if (Date.now() < known.until) {
        c.set('jwtPayload', known.claims);
        c.set('user', known.user);
        return next();
      }
      verified.delete(token);
    }
    // Before any verifier: a claim that is not well-formed text would be stored as another (U+FFFD) one.
    if (!jwtTextIsWellFormed(token))
      throw unauthorized('The bearer token is not a valid JWT: its header and claims must be well-formed UTF-8 JSON.');
    let jwtHeader: { alg?: unknown; kid?: unknown };
    try {
      jwtHeader = decode(token).header as { alg?: unknown; kid?: unknown };
    } catch {
      throw unauthorized('The bearer token is not a valid JWT.');
    }
    const alg = jwtHeader.alg;
    let claims: Record<string, unknown>;
    if (alg === 'HS256' && secret) {
      try {
        claims = (await verify(token, secret, 'HS256')) as Record<string, unknown>;
      } catch {
        throw unauthorized('The bearer token is invalid or expired.');
      }
    } else if (typeof alg === 'string' && (ASYMMETRIC as readonly string[]).includes(alg) && jwks) {
      claims = await verifyAsymmetric(token, jwtHeader.kid);
    } else {
      throw unauthorized(
        `Tokens signed with ${typeof alg === 'string' ? alg.slice(0, 20) : 'this algorithm'} are not accepted here.`,
      );
    }
    // docs/API.md §2: exp is enforced. The verifiers check it only when present, so require it.
    if (typeof claims.exp !== 'number') throw unauthorized('The bearer token has no expiry (exp).');
    const user = identityFromClaims(claims);
    if (!user)
      throw unauthorized('The bearer token has no usable subject (sub): a string of 1 to 256 characters without NUL.');
    if (alg === 'HS256') {
      if (verified.size >= VERIFIED_MAX) verified.clear();
      verified.set(token, { claims, user, until: Math.min(Date.now() + VERIFIED_TTL_MS, claims.exp * 1000) });
    }
    c.set('jwtPayload', claims);
    c.set('user', user);
    await next();
  };
}

/**
 * The admin API's guard: an administrator calls every route; an auditor calls only the reads listed in
 * `auditorReads` (paths below `mount`, GET or HEAD) and gets a 403 saying so for the rest; anyone else a 403.
 * The list is explicit so that a route added to the admin API is an administrator's only until it is named.
 */
export function requireAdmin(mount: string, auditorReads: readonly string[]): MiddlewareHandler<AuthEnv> {
  const reads = new Set(auditorReads.map((p) => `${mount}${p}`));
  return async (c, next) => {
    const user = c.get('user');
    if (user.isAdmin) return next();
    if (!user.isAuditor) throw forbidden();
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && reads.has(c.req.path)) return next();
    throw forbidden(
      'An auditor has read-only access: deleting, holding, changing settings and running retention need administrator rights.',
    );
  };
}
