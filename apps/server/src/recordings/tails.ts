/**
 * Tail objects (docs/bounded-loss.md, "S3 backend"): where parts have a size
 * floor (S3 refuses a part under 5 MiB unless it is the last), the SDK keeps
 * what is not yet a part in small objects it PUTs itself every maxLagMs, so
 * no more than that is held only in the browser and the bytes still never
 * pass through the service while recording. This module owns the service's
 * two jobs with them:
 * - handing out presigned PutObject URLs in batches (a tail costs one PUT,
 *   a batch request about once a minute);
 * - folding them into the last part when a recording is finalized without
 *   its client (beacon, abandoned): the tails after the last full part are
 *   streamed once, in order, into one UploadPart. They are under one part's
 *   size, so this is the only time recording bytes pass through the service,
 *   bounded, and never buffered.
 * Tails are deleted with the recording's parts (service.ts: markReady,
 * markFailed, deleteRow).
 */
import { Readable } from 'node:stream';
import { and, eq, inArray } from 'drizzle-orm';
import type { TailTargets } from '@sortie/contract';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type RecordingRow } from '../db/schema.js';
import { conflict, notFound, tooLarge } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { RecordingStorage, StoredPart, StoredTail } from '../storage/types.js';

/** Lifetime of tail URLs: as long as part URLs. */
export const TAIL_URL_TTL_SECONDS = 15 * 60;
/** URLs for the part asked about: a minute of tails at the default maxLagMs (2 s). */
export const TAIL_URLS_FOR_PART = 30;
/**
 * And a few for each of the next parts, so that when a part closes the SDK
 * already holds URLs for the next one's tails (at 8 Mbit/s a part closes every
 * ~5 s: one batch per part would cost a request per part).
 */
export const TAIL_NEXT_PARTS = 3;
export const TAIL_URLS_PER_NEXT_PART = 8;
/** Highest first sequence number a batch is asked from (a day of tails at one a second). */
export const MAX_TAIL_SEQ = 100_000;

const OPEN = ['recording', 'uploading'] as const;

export interface TailDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  maxSizeBytes: number;
}

/**
 * A batch of tail URLs of an open recording the user owns: part `partNumber`
 * from tail `firstSeq`, and the first tails of the next parts. Marks the
 * recording active (a quiet S3 recording fills a part in minutes; its tails
 * keep it from looking abandoned).
 */
export async function issueTailUrls(
  deps: TailDeps,
  user: Identity,
  id: string,
  partNumber: number,
  firstSeq: number,
): Promise<TailTargets> {
  const tails = deps.storage.tails;
  if (!tails) throw notFound('This backend takes no tail objects: its parts may be any size (docs/bounded-loss.md).');
  const maxParts = deps.storage.maxParts;
  const now = deps.clock.now();
  const [touched] = await deps.db
    .update(recordings)
    .set({ lastActivityAt: now, updatedAt: now })
    .where(and(eq(recordings.id, id), eq(recordings.userId, user.id), inArray(recordings.status, [...OPEN])))
    .returning();
  if (!touched) {
    const [row] = await deps.db.select().from(recordings).where(eq(recordings.id, id));
    if (!row || row.userId !== user.id) throw notFound();
    throw conflict(`Recording is ${row.status}; it takes no more tails.`);
  }
  // The parts reserved so far fill the size limit: nothing more can be recorded, so nothing more to keep.
  if (touched.sizeBytes >= deps.maxSizeBytes)
    throw tooLarge(`The recording's parts reach its limit of ${deps.maxSizeBytes} bytes; it takes no more tails.`);
  const wanted: { partNumber: number; seq: number }[] = [];
  for (let s = firstSeq; s < firstSeq + TAIL_URLS_FOR_PART && s <= MAX_TAIL_SEQ + TAIL_URLS_FOR_PART; s++)
    wanted.push({ partNumber, seq: s });
  for (let n = partNumber + 1; n <= Math.min(maxParts, partNumber + TAIL_NEXT_PARTS); n++)
    for (let s = 0; s < TAIL_URLS_PER_NEXT_PART; s++) wanted.push({ partNumber: n, seq: s });
  const urls = await Promise.all(
    wanted.map(async (w) => ({
      ...w,
      url: await tails.presignTail({ recordingId: id, ...w, expiresInSeconds: TAIL_URL_TTL_SECONDS }),
    })),
  );
  return { urls, method: 'PUT', expiresAt: new Date(now.getTime() + TAIL_URL_TTL_SECONDS * 1000).toISOString() };
}

/**
 * The tails that continue `parts` (the usable run 1..n, as the sweeper found
 * it): tails n+1-0, n+1-1, … up to the first gap, and no further than the
 * size limit. Empty when the run ends in a short part (the client's own last
 * part: tails before it are superseded).
 */
export function tailsAfter(
  parts: StoredPart[],
  tails: StoredTail[],
  minPartSizeBytes: number,
  roomBytes: number,
): StoredTail[] {
  const last = parts[parts.length - 1];
  if (last && last.sizeBytes < minPartSizeBytes) return [];
  const next = parts.length + 1;
  const bySeq = new Map(tails.filter((t) => t.partNumber === next).map((t) => [t.seq, t]));
  const run: StoredTail[] = [];
  let bytes = 0;
  for (let s = 0; bySeq.has(s); s++) {
    const t = bySeq.get(s)!;
    if (bytes + t.sizeBytes > roomBytes) break;
    bytes += t.sizeBytes;
    run.push(t);
  }
  return run.filter((t) => t.sizeBytes > 0);
}

/**
 * Finalizing without the client: stores the tails after `parts` as part n+1
 * (streamed from the bucket into one UploadPart) and answers the parts to
 * assemble. The part is recorded in the database as a requested part would
 * be, so finalize checks it like any other. Without tails, `parts` as given.
 */
export async function foldTails(
  deps: TailDeps & { logger: Logger },
  row: RecordingRow,
  parts: StoredPart[],
): Promise<StoredPart[]> {
  const tails = deps.storage.tails;
  if (!tails || !row.uploadId || parts.length >= deps.storage.maxParts) return parts;
  const stored = parts.reduce((n, p) => n + p.sizeBytes, 0);
  const run = tailsAfter(
    parts,
    await tails.listTails(row.id),
    deps.storage.minPartSizeBytes,
    deps.maxSizeBytes - stored,
  );
  if (run.length === 0) return parts;
  const partNumber = parts.length + 1;
  const sizeBytes = run.reduce((n, t) => n + t.sizeBytes, 0);
  async function* body() {
    for (const t of run) yield* await tails!.readTail(row.id, t);
  }
  const folded = await tails.uploadPart({
    key: row.storageKey,
    uploadId: row.uploadId,
    partNumber,
    sizeBytes,
    body: Readable.from(body(), { objectMode: false }),
  });
  const now = deps.clock.now();
  await deps.db
    .insert(recordingParts)
    .values({ recordingId: row.id, partNumber, declaredSize: sizeBytes, updatedAt: now })
    .onConflictDoUpdate({
      target: [recordingParts.recordingId, recordingParts.partNumber],
      set: { declaredSize: sizeBytes, updatedAt: now },
    });
  deps.logger.info('tails folded into the last part', {
    recordingId: row.id,
    partNumber,
    tails: run.length,
    sizeBytes,
  });
  return [...parts, folded];
}
