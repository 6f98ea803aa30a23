/**
 * The text of a JWT's header and payload must be well-formed Unicode before any
 * claim is trusted. A lone UTF-16 surrogate (`"\ud800"` escaped in the JSON, or
 * a raw one) cannot be stored as PostgreSQL text: it became U+FFFD on the way
 * in, so the token of `x\ud800` read the recordings of `x\uFFFD`. Bytes that
 * are not UTF-8 decode to U+FFFD in the same way, so they are refused as well
 * (TextDecoder with `fatal: true`) rather than mapped onto another user.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function wellFormed(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !LONE_SURROGATE.test(value);
  if (value === null || typeof value !== 'object') return true;
  // Deeper than any claim set has reason to be: not worth walking.
  if (depth > 32) return false;
  if (Array.isArray(value)) return value.every((v) => wellFormed(v, depth + 1));
  return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v, depth + 1));
}

/** Base64url, as JWS writes it (no padding); null for anything else. */
function base64url(segment: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return null;
  return Buffer.from(segment, 'base64url');
}

/**
 * True when the token's header and payload are base64url of strict UTF-8 JSON
 * whose every string (keys included) is well-formed UTF-16. The signature is
 * left to the verifiers.
 */
export function jwtTextIsWellFormed(token: string): boolean {
  const segments = token.split('.');
  if (segments.length !== 3) return false;
  for (const segment of segments.slice(0, 2)) {
    const bytes = base64url(segment!);
    if (!bytes) return false;
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(bytes));
    } catch {
      return false;
    }
    if (!wellFormed(value)) return false;
  }
  return true;
}
