/**
 * The audit trail as a hash chain: each entry's hash is the SHA-256 of its canonical content (RFC 8785 JCS of
 * its fields and the previous entry's hash), so editing or removing an entry breaks every link after it.
 * Entries are appended under one advisory lock, in the transaction that writes them, so concurrent writers on
 * any number of replicas keep one chain. @sortie/verify checks an export the same way, offline.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The advisory lock every append takes (a fixed number, like the jobs' LOCK_IDS). */
export const AUDIT_CHAIN_LOCK_ID = 7_365_100_010n;

export interface ChainedContent {
  seq: number;
  id: string;
  /** ISO 8601 with milliseconds, as stored. */
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  recordingId: string | null;
  details: Record<string, unknown>;
  prevHash: string | null;
}

export function entryHash(entry: ChainedContent): string {
  const content: ChainedContent = {
    seq: entry.seq,
    id: entry.id,
    at: entry.at,
    actorId: entry.actorId,
    actorName: entry.actorName,
    action: entry.action,
    recordingId: entry.recordingId,
    details: entry.details,
    prevHash: entry.prevHash,
  };
  return createHash('sha256').update(canonicalize(content)!, 'utf8').digest('hex');
}
