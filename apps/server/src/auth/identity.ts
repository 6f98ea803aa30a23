/** Who is calling: taken from the verified token's claims (docs/API.md "2. Identity"). */
export interface Identity {
  id: string;
  name: string | null;
  isAdmin: boolean;
}

export function identityFromClaims(claims: Record<string, unknown>): Identity | null {
  const sub = claims.sub;
  // The sub is stored and queried as PostgreSQL text, which cannot hold NUL: such a token is unusable (401), not a 500.
  if (typeof sub !== 'string' || sub === '' || sub.length > 256 || sub.includes('\u0000')) return null;
  // The name is only shown: one the database could not store is treated like a missing or overlong one.
  const name =
    typeof claims.name === 'string' && claims.name.length <= 256 && !claims.name.includes('\u0000')
      ? claims.name
      : null;
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const isAdmin = claims.role === 'admin' || roles.includes('admin');
  return { id: sub, name, isAdmin };
}
