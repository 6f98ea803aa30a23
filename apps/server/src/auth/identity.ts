/** Who is calling: taken from the verified token's claims (docs/API.md "2. Identity"). */
export interface Identity {
  id: string;
  name: string | null;
  isAdmin: boolean;
  /**
   * Read-only oversight: every recording, its file, seal, markers and thumbnails, and the audit trail, but no
   * delete, hold, settings or write to someone else's recording. Each of those reads is written to the trail.
   */
  isAuditor: boolean;
}

/** Whether the claims grant a role: `role` (one string) or `roles` (a list), as identity providers vary. */
function hasRole(claims: Record<string, unknown>, role: string): boolean {
  return claims.role === role || (Array.isArray(claims.roles) && claims.roles.includes(role));
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
  return { id: sub, name, isAdmin: hasRole(claims, 'admin'), isAuditor: hasRole(claims, 'auditor') };
}
