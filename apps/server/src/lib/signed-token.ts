/**
 * Short-lived tokens for the service's own URLs (local part PUTs and header-less
 * downloads), signed with the per-deployment key kept in the database so that
 * any replica accepts a URL that another issued.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type SignedClaims =
  /** uid (the owner) and key (the storage key) let the PUT skip a lookup; older URLs lack them. */
  | { typ: 'part'; rid: string; pn: number; size: number; uid?: string; key?: string }
  /** (extension) Any part of one recording, PUT in one request (its size is the Content-Length). */
  | { typ: 'parts'; rid: string; uid: string; key: string }
  | { typ: 'file'; rid: string }
  /** The capability to end one recording (a beacon from a closing tab, which cannot carry a bearer token). */
  | { typ: 'end'; rid: string }
  /** (extension) The thumbnails of one recording, for <img src> in the player (no bearer header). */
  | { typ: 'thumbs'; rid: string };

// The header of every token this service signs: computed once.
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** An HS256 JWT (as hono/jwt's sign makes it), signed with node:crypto's synchronous HMAC: one per part URL. */
export async function signToken(key: string, claims: SignedClaims, expiresAt: Date): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(expiresAt.getTime() / 1000) })).toString(
    'base64url',
  );
  const signature = createHmac('sha256', keyObject(key)).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}

/**
 * The claims of a valid, unexpired token of the wanted type, or null.
 *
 * Verified with node:crypto's synchronous HMAC rather than hono/jwt's verify
 * (WebCrypto: a thread-pool job and a promise per call): it runs on every part
 * PUT, and the profile put it among the larger costs of a small part
 * (bench:load). Same tokens: HS256 JWTs as signToken makes them.
 */
export async function verifyToken<T extends SignedClaims['typ']>(
  key: string,
  token: string,
  typ: T,
): Promise<Extract<SignedClaims, { typ: T }> | null> {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined) return null;
  const expected = createHmac('sha256', keyObject(key)).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    if ((JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown }).alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    // Every URL this service issues expires, so one without exp is forged or foreign.
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return null;
    if (claims.typ !== typ) return null;
    return claims as Extract<SignedClaims, { typ: T }>;
  } catch {
    return null;
  }
}

/** One KeyObject per signing key (there is one per deployment; tests make a few). */
const keys = new Map<string, KeyObject>();
function keyObject(key: string): KeyObject {
  let k = keys.get(key);
  if (!k) {
    if (keys.size > 16) keys.clear();
    k = createSecretKey(Buffer.from(key, 'utf8'));
    keys.set(key, k);
  }
  return k;
}
