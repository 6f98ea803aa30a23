/** Who is calling: taken from the verified token's claims (API.md §2). */
export interface Identity {
  id: string;
  name: string | null;
  isAdmin: boolean;
}

export function identityFromClaims(claims: Record<string, unknown>): Identity | null {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '' || sub.length > 256) return null;
  const name = typeof claims.name === 'string' && claims.name.length <= 256 ? claims.name : null;
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const isAdmin = claims.role === 'admin' || roles.includes('admin');
  return { id: sub, name, isAdmin };
}
