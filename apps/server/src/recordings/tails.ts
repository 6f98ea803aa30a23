/**
 * Tail objects (docs/bounded-loss.md, "S3 backend"): where parts have a size
 * floor (S3 refuses a part under 5 MiB unless it is the last), the SDK keeps
 * what is not yet a part in small objects it POSTs itself every maxLagMs, so
 * no more than that is held only in the browser and the bytes still never
 * pass through the service while recording.
 * This module owns the service's three jobs with them:
 * - handing out presigned POSTs in small batches. Each target's policy caps
 *   its body (`content-length-range`), enforced by the store itself, and
 *   every batch is counted against the recording's size limit and the user's
 *   reserve: what the bucket already holds under the recording's tails, plus
 *   what its unexpired targets may still write, plus this batch, must fit in
 *   what its parts' reservations leave (recordings.tail_bytes_bound,
 *   tail_batches, and tail_bytes_by_part, with which a part's reservation
 *   counts it once with the tails it replaces: db/functions/sortie_request_part.sql);
 * - folding them into the last part when a recording is finalized without
 *   its client (beacon, abandoned) or completed at its size limit: the tails
 *   after the last full part are streamed once, in order, into one
 *   UploadPart. They are under one part's size, so this is the only time
 *   recording bytes pass through the service, bounded, and never buffered;
 * - removing tails that belong to no open recording (the sweeper,
 *   removeOrphanTails): a target stays valid until it expires, whatever
 *   happens to its recording; and, of open recordings whose targets have all
 *   expired, those their full parts replaced (removeSupersededTails).
 * Tails are also deleted with the recording's parts (finalize.ts: markReady;
 * lifecycle.ts: markFailed, deleteRow).
 */
import { Readable } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { TailTargets } from '@sortie/contract';
import type { Identity } from '../auth/identity.js';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type RecordingRow, type TailBatch } from '../db/schema.js';
import { badRequest, conflict, notFound, tooLarge } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { RecordingStorage, StoredPart, StoredTail } from '../storage/types.js';

/** Targets for the part asked about: 16 s of tails at the default maxLagMs (2 s). */
export const TAIL_URLS_FOR_PART = 8;
/**
 * And a couple for the next part, so that when a part closes the SDK already
 * holds targets for the next one's first tails, even on pagehide.
 */
export const TAIL_NEXT_PARTS = 1;
export const TAIL_URLS_PER_NEXT_PART = 2;
/** The most targets in one batch. */
export const TAIL_BATCH_MAX = TAIL_URLS_FOR_PART + TAIL_NEXT_PARTS * TAIL_URLS_PER_NEXT_PART;
/**
 * The most one tail may hold: 2 s of video at 16 Mbit/s (the SDK's default is
 * 1.5), room for a late tail at 8. A larger tail is refused by the store and
 * the SDK does not send it: its bytes still reach the bucket in their part.
 */
export const TAIL_MAX_BYTES = 4 * 1024 * 1024;
/** The smallest cap worth handing out; below it the recording takes no more tails (413). */
export const TAIL_MIN_BYTES = 16 * 1024;
/** Highest tail sequence number of a part (schemas.ts: tailBody): hours of tails of one part at one a second. */
export const MAX_TAIL_SEQ = 10_000;
export const DEFAULT_MAX_LAG_MS = 2000;
/**
 * How long targets last: four batches' worth of tails at the SDK's maxLagMs,
 * at least two minutes (the SDK skips a target 30 s before its expiry) and at
 * most ten. Short, as each target's cap counts against the recording until
 * it expires.
 */
export function tailTtlSeconds(maxLagMs: number): number {
  return Math.min(600, Math.max(120, Math.ceil((maxLagMs * TAIL_URLS_FOR_PART * 4) / 1000)));
}
/**
 * Tails of no open recording are removed once none has been written for this
 * long: longer than any target lasts, so a recording being finalized (its
 * tails folded, by this replica or another) is never raced, and a target still
 * valid after its recording ended cannot add a tail after they went.
 */
/** The SDK asks for the next batch while this many targets are left for the current part (tail-uploader.ts). */
const SDK_LOW_WATER = 3;
/**
 * How many batches of a recording are alive at once while it records: a
 * batch every TAIL_URLS_FOR_PART - SDK_LOW_WATER tails, each alive `ttl`.
 * A batch takes at most this share of the room left, so a recording that
 * keeps recording keeps getting batches.
 */
export function liveBatches(maxLagMs: number): number {
  return Math.ceil((tailTtlSeconds(maxLagMs) * 1000) / (maxLagMs * (TAIL_URLS_FOR_PART - SDK_LOW_WATER))) + 1;
}

export const ORPHAN_TAIL_GRACE_MS = 15 * 60 * 1000;

const OPEN = ['recording', 'uploading'] as const;
const isOpen = (status: string) => (OPEN as readonly string[]).includes(status);

export interface TailDeps {
  db: Db;
  storage: RecordingStorage;
  clock: Clock;
  maxSizeBytes: number;
  /** The user's reserve across open recordings (SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER); none when unset. */
  userCapBytes?: number | undefined;
}

/**
 * A batch of tail targets of an open recording the user owns: part
 * `partNumber` from tail `firstSeq`, and the first tails of the next part.
 * Marks the recording active (a quiet S3 recording fills a part in minutes;
 * its tails keep it from looking abandoned).
 */
export async function issueTailUrls(
  deps: TailDeps,
  user: Identity,
  id: string,
  req: { partNumber: number; firstSeq: number; maxLagMs?: number | undefined },
): Promise<TailTargets> {
  const tails = deps.storage.tails;
  if (!tails) throw notFound('This backend takes no tail objects: its parts may be any size (docs/bounded-loss.md).');
  const { partNumber, firstSeq } = req;
  // A recording of the size limit has at most this many parts: all but the last hold the part floor.
  const lastPart = Math.min(deps.storage.maxParts, Math.floor(deps.maxSizeBytes / deps.storage.minPartSizeBytes) + 1);
  if (partNumber > lastPart)
    throw badRequest(
      `partNumber must be at most ${lastPart}: a recording of ${deps.maxSizeBytes} bytes has no more parts.`,
    );
  const [pre] = await deps.db.select().from(recordings).where(eq(recordings.id, id));
  if (!pre || pre.userId !== user.id) throw notFound();
  if (!isOpen(pre.status)) throw conflict(`Recording is ${pre.status}; it takes no more tails.`);
  // What the bucket holds, listed before the locks: whatever lands after the listing is written by a
  // target still unexpired, whose cap is counted below under the locks. Tails of parts now stored in full
  // are never folded (tailsAfter): they are removed here, so that a long recording's tails do not add up.
  const { kept } = await dropSupersededTails(deps, pre);
  const listed = kept.reduce((n, x) => n + x.sizeBytes, 0);

  const wanted: { partNumber: number; seq: number }[] = [];
  for (let s = firstSeq; s < firstSeq + TAIL_URLS_FOR_PART && s <= MAX_TAIL_SEQ; s++)
    wanted.push({ partNumber, seq: s });
  for (let n = partNumber + 1; n <= Math.min(lastPart, partNumber + TAIL_NEXT_PARTS); n++)
    for (let s = 0; s < TAIL_URLS_PER_NEXT_PART; s++) wanted.push({ partNumber: n, seq: s });

  const now = deps.clock.now();
  const maxLagMs = req.maxLagMs ?? DEFAULT_MAX_LAG_MS;
  const ttl = tailTtlSeconds(maxLagMs);
  const until = new Date(now.getTime() + ttl * 1000);
  const maxBytes = await deps.db.transaction(async (tx) => {
    // The user's lock before the row lock, as sortie_request_part takes them: no cycle of waits.
    if (deps.userCapBytes !== undefined)
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${'sortie.user:' + user.id}, 0))`);
    const [row] = await tx.select().from(recordings).where(eq(recordings.id, id)).for('update');
    if (!row || row.userId !== user.id) throw notFound();
    if (!isOpen(row.status)) throw conflict(`Recording is ${row.status}; it takes no more tails.`);
    // Each batch counts until its own targets expire (a recording asks for one every few tails).
    const live = row.tailBatches.filter((b) => b.until > now.getTime());
    const unexpired = live.reduce((n, b) => n + b.bytes, 0);
    const mine = row.sizeBytes + listed + unexpired;
    let room = deps.maxSizeBytes - mine;
    if (deps.userCapBytes !== undefined) {
      // The user's reserve (db/functions/sortie_user_reserved.sql) less this recording's parts and tails, counted in `mine`.
      const [others] = (await tx.execute(
        sql`select sortie_user_reserved(${user.id}, ${now.toISOString()}::timestamptz, ${id}::uuid, null) as n`,
      )) as unknown as { n: string }[];
      room = Math.min(room, deps.userCapBytes - Number(others?.n ?? 0) - mine);
    }
    // A batch takes its share of the room left, so the next batches (one every few tails) still find some.
    const cap = Math.min(TAIL_MAX_BYTES, Math.floor(room / (liveBatches(maxLagMs) * wanted.length)));
    if (cap < TAIL_MIN_BYTES)
      throw tooLarge(
        `The recording's parts and tails reach its limit of ${deps.maxSizeBytes} bytes or your reserve; it takes no more tails.`,
      );
    const parts: Record<string, number> = {};
    for (const w of wanted) parts[w.partNumber] = (parts[w.partNumber] ?? 0) + cap;
    const batch: TailBatch = { bytes: cap * wanted.length, until: until.getTime(), parts };
    const byPart = tailBytesByPart(kept, [...live, batch]);
    await tx
      .update(recordings)
      .set({
        lastActivityAt: now,
        updatedAt: now,
        tailBatches: [...live, batch],
        tailBytesBound: listed + unexpired + batch.bytes,
        tailBytesByPart: byPart,
      })
      .where(eq(recordings.id, id));
    return cap;
  });
  const urls = await Promise.all(
    wanted.map(async (w) => ({
      ...w,
      ...(await tails.presignTail({ recordingId: id, ...w, maxBytes, expiresAt: until })),
    })),
  );
  return { urls, method: 'POST', maxBytes, expiresAt: until.toISOString() };
}

/**
 * The tail bound by part: the tails in the bucket and what the live batches' targets may still write. A
 * batch from before the split (no `parts`) counts under the highest part number, which no part replaces.
 */
function tailBytesByPart(listed: StoredTail[], batches: TailBatch[]): Record<string, number> {
  const byPart: Record<string, number> = {};
  const add = (part: number, bytes: number) => (byPart[part] = (byPart[part] ?? 0) + bytes);
  for (const t of listed) add(t.partNumber, t.sizeBytes);
  for (const b of batches) {
    if (b.parts) for (const [part, bytes] of Object.entries(b.parts)) add(Number(part), bytes);
    else add(UNSPLIT_PART, b.bytes);
  }
  return byPart;
}
const UNSPLIT_PART = 2_147_483_647;

/** How many parts from 1 on are stored at the part floor or more: their tails are superseded. */
function fullParts(parts: StoredPart[], storage: RecordingStorage): number {
  const size = new Map(parts.map((p) => [p.partNumber, p.sizeBytes]));
  let n = 0;
  while ((size.get(n + 1) ?? 0) >= storage.minPartSizeBytes) n++;
  return n;
}

/**
 * Removes the tails of every recording that is not open (ended, failed,
 * deleted, or never known) once none has been written for ORPHAN_TAIL_GRACE_MS:
 * a target stays valid until it expires, so a tail may land after its
 * recording ended. The bucket listing is paginated; recordings are looked up
 * a hundred folders at a time. Answers how many recordings' tails went.
 */
export async function removeOrphanTails(deps: TailDeps & { logger: Logger }): Promise<number> {
  const tails = deps.storage.tails;
  if (!tails) return 0;
  const before = deps.clock.now().getTime() - ORPHAN_TAIL_GRACE_MS;
  let removed = 0;
  let batch: { recordingId: string; objects: number; sizeBytes: number }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const open = await deps.db
      .select({ id: recordings.id })
      .from(recordings)
      .where(
        and(
          inArray(
            recordings.id,
            batch.map((f) => f.recordingId),
          ),
          inArray(recordings.status, [...OPEN]),
        ),
      );
    const keep = new Set(open.map((r) => r.id));
    for (const f of batch) {
      if (keep.has(f.recordingId)) continue;
      await tails.deleteTails(f.recordingId);
      removed++;
      deps.logger.info('orphan tails removed', { ...f });
    }
    batch = [];
  };
  for await (const f of tails.listTailFolders()) {
    if (f.lastModified.getTime() > before) continue;
    batch.push({ recordingId: f.recordingId, objects: f.objects, sizeBytes: f.sizeBytes });
    if (batch.length >= 100) await flush();
  }
  await flush();
  return removed;
}

/**
 * For open recordings none of whose targets can still write (every batch expired a minute ago or more, the
 * minute for uploads begun before their expiry): removes the tails of parts now stored in full, which a
 * recording that asks for no more batches keeps otherwise until it ends, and brings the recording's tail
 * bound down to what the bucket holds. A batch issued meanwhile is left to count as it does. Answers how many
 * recordings were brought down.
 */
export async function removeSupersededTails(deps: TailDeps & { logger: Logger }): Promise<number> {
  const tails = deps.storage.tails;
  if (!tails) return 0;
  const quietSince = deps.clock.now().getTime() - IN_FLIGHT_TAIL_MS;
  const rows = await deps.db
    .select()
    .from(recordings)
    .where(
      and(
        inArray(recordings.status, [...OPEN]),
        sql`${recordings.tailBatches} <> '[]'::jsonb`,
        sql`not exists (select 1 from jsonb_array_elements(${recordings.tailBatches}) b
          where (b->>'until')::bigint > ${quietSince})`,
      ),
    )
    .limit(SUPERSEDED_BATCH);
  let settled = 0;
  for (const row of rows) {
    const { kept, superseded } = await dropSupersededTails(deps, row);
    const done = await deps.db.transaction(async (tx) => {
      const [now] = await tx.select().from(recordings).where(eq(recordings.id, row.id)).for('update');
      if (!now || !isOpen(now.status) || now.tailBatches.some((b) => b.until > quietSince)) return false;
      await tx
        .update(recordings)
        .set({
          tailBatches: [],
          tailBytesBound: kept.reduce((n, x) => n + x.sizeBytes, 0),
          tailBytesByPart: tailBytesByPart(kept, []),
        })
        .where(eq(recordings.id, row.id));
      return true;
    });
    if (done) {
      settled++;
      if (superseded.length > 0)
        deps.logger.info('superseded tails removed', { recordingId: row.id, tails: superseded.length });
    }
  }
  return settled;
}
/**
 * Removes a recording's tails that its parts stored in full now hold (they are never folded: tailsAfter),
 * and answers those and the tails it keeps, as the bucket lists them.
 */
async function dropSupersededTails(
  deps: TailDeps,
  row: { id: string; storageKey: string; uploadId: string | null },
): Promise<{ kept: StoredTail[]; superseded: StoredTail[] }> {
  const tails = deps.storage.tails!;
  const full = fullParts(await deps.storage.listParts({ key: row.storageKey, uploadId: row.uploadId }), deps.storage);
  const inBucket = await tails.listTails(row.id);
  const superseded = inBucket.filter((x) => x.partNumber <= full);
  if (superseded.length > 0) await tails.removeTails(row.id, superseded);
  return { kept: inBucket.filter((x) => x.partNumber > full), superseded };
}

/** How long after its target's expiry a tail upload begun before it may still land. */
const IN_FLIGHT_TAIL_MS = 60_000;
/** Recordings brought down per sweeper run. */
const SUPERSEDED_BATCH = 100;

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
