/**
 * Short-lived tokens for the service's own URLs (local part PUTs and header-less
 * downloads), signed with the per-deployment key kept in the database so that
 * any replica accepts a URL that another issued.
 */
import { sign, verify } from 'hono/jwt';

export type SignedClaims =
  | { typ: 'part'; rid: string; pn: number; size: number }
  | { typ: 'file'; rid: string }
  /** The capability to end one recording (a beacon from a closing tab, which cannot carry a bearer token). */
  | { typ: 'end'; rid: string }
  /** (extension) The thumbnails of one recording, for <img src> in the player (no bearer header). */
  | { typ: 'thumbs'; rid: string };

export async function signToken(key: string, claims: SignedClaims, expiresAt: Date): Promise<string> {
  return sign({ ...claims, exp: Math.floor(expiresAt.getTime() / 1000) }, key, 'HS256');
}

/** The claims of a valid, unexpired token of the wanted type, or null. */
export async function verifyToken<T extends SignedClaims['typ']>(
  key: string,
  token: string,
  typ: T,
): Promise<Extract<SignedClaims, { typ: T }> | null> {
  try {
    const claims = (await verify(token, key, 'HS256')) as Record<string, unknown>;
    // verify() checks exp only when present; every URL this service issues expires, so one without exp is forged or foreign.
    if (typeof claims.exp !== 'number') return null;
    if (claims.typ !== typ) return null;
    return claims as Extract<SignedClaims, { typ: T }>;
  } catch {
    return null;
  }
}
