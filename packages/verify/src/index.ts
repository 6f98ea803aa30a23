/**
 * Seals of Sortie recordings, and their check. A seal names a recording's file by its SHA-256 and size, with
 * what the service knew of it, and is signed with Ed25519 over the UTF-8 bytes of the seal without its
 * `signature`, in RFC 8785 (JCS) form. The service signs with `sealPayload` and anyone checks with
 * `verifySeal`, offline, against the keys the service publishes (`GET /api/seal-keys`).
 */
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import type { ChainedAuditEntry, Seal, SealKey } from '@sortie/contract';
import canonicalize from 'canonicalize';

export type { Seal, SealKey as SealJwk } from '@sortie/contract';

/** The bytes a seal's signature covers: the seal without `signature`, in JCS form, as UTF-8. */
export function sealPayload(seal: Omit<Seal, 'signature'> | Seal): Buffer {
  const rest: Record<string, unknown> = { ...seal };
  delete rest.signature;
  return Buffer.from(canonicalize(rest)!, 'utf8');
}

/** The RFC 7638 thumbprint of an Ed25519 public key (base64url SHA-256 of its required members, in order). */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string }): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(members).digest('base64url');
}

export interface Verdict {
  ok: boolean;
  /** One line per check, each saying what held or what differs. */
  lines: string[];
  /** The checks that failed, by name: 'sha256', 'size', 'key', 'signature'. */
  failed: string[];
}

/**
 * Checks that `file` (its bytes, streamed) is the file `seal` names and that the seal is signed by one of
 * `keys`. Without keys only the file is checked, and the verdict is not ok: an unsigned match proves nothing.
 */
export async function verifySeal(
  file: AsyncIterable<Uint8Array>,
  seal: Seal,
  keys: SealKey[] | null,
): Promise<Verdict> {
  const lines: string[] = [];
  const failed: string[] = [];
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of file) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  const sha256 = hash.digest('hex');
  if (sha256 === seal.sha256?.toLowerCase()) lines.push(`sha256 matches: ${sha256}`);
  else {
    failed.push('sha256');
    lines.push(`sha256 differs: the file's is ${sha256}, the seal's ${seal.sha256}`);
  }
  if (size === seal.sizeBytes) lines.push(`size matches: ${size} bytes`);
  else {
    failed.push('size');
    lines.push(`size differs: the file has ${size} bytes, the seal says ${seal.sizeBytes}`);
  }
  if (!keys) {
    failed.push('key');
    lines.push('signature not checked: no keys given (save GET /api/seal-keys and pass it with --keys)');
    return { ok: false, lines, failed };
  }
  const jwk = keys.find((k) => k.kid === seal.keyId);
  if (!jwk) {
    failed.push('key');
    lines.push(`no key ${seal.keyId} among the ${keys.length} given`);
    return { ok: false, lines, failed };
  }
  if (jwkThumbprint(jwk) !== jwk.kid) {
    failed.push('key');
    lines.push(`key ${jwk.kid} is not the key its kid names (its thumbprint is ${jwkThumbprint(jwk)})`);
    return { ok: false, lines, failed };
  }
  let valid = false;
  try {
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
    valid = verifySignature(null, sealPayload(seal), key, Buffer.from(seal.signature ?? '', 'base64url'));
  } catch {
    valid = false;
  }
  if (valid) lines.push(`signature holds: Ed25519, key ${jwk.kid}`);
  else {
    failed.push('signature');
    lines.push(`signature does not hold for key ${jwk.kid}: the seal was changed, or not signed by it`);
  }
  return { ok: failed.length === 0, lines, failed };
}

/** The hash of an audit entry: SHA-256 (hex) of the RFC 8785 form of its fields but `hash`. */
export function auditEntryHash(entry: Omit<ChainedAuditEntry, 'hash'> | ChainedAuditEntry): string {
  const { seq, id, at, actorId, actorName, action, recordingId, details, prevHash } = entry;
  const content = { seq, id, at, actorId, actorName, action, recordingId, details, prevHash };
  return createHash('sha256').update(canonicalize(content)!, 'utf8').digest('hex');
}

/**
 * Checks an export of the audit trail (GET /api/admin/audit/export, one entry per line): each entry's hash is
 * that of its content, and each links to the one before it (its prevHash, the next seq). The first entry's
 * own link is to an entry outside the export, and is reported, not checked.
 */
export async function verifyAuditExport(lines: AsyncIterable<string>): Promise<Verdict> {
  const out: string[] = [];
  let prev: ChainedAuditEntry | null = null;
  let n = 0;
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    let entry: ChainedAuditEntry;
    try {
      entry = JSON.parse(line) as ChainedAuditEntry;
    } catch {
      return { ok: false, lines: [...out, `line ${n + 1} is not JSON`], failed: ['format'] };
    }
    const bad = (why: string): Verdict => ({
      ok: false,
      lines: [...out, `entry seq ${entry.seq} (${entry.id}): ${why}`],
      failed: ['chain'],
    });
    if (auditEntryHash(entry) !== entry.hash) return bad('its content is not what its hash was made of');
    if (prev) {
      if (entry.seq !== prev.seq + 1) return bad(`entry ${prev.seq + 1} is missing`);
      if (entry.prevHash !== prev.hash) return bad('its previous hash is not the previous entry’s hash');
    } else {
      out.push(
        entry.prevHash === null
          ? `starts at the chain's first entry (seq ${entry.seq})`
          : `starts at seq ${entry.seq}, after an entry whose hash was ${entry.prevHash} (not in this file)`,
      );
    }
    prev = entry;
    n++;
  }
  if (!prev) return { ok: false, lines: ['no entries'], failed: ['format'] };
  out.push(`${n} entries hold; the last is seq ${prev.seq}, hash ${prev.hash}`);
  return { ok: true, lines: out, failed: [] };
}
