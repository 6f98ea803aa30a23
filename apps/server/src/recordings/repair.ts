/**
 * The repair of a WebM recording its client never finished, so that the
 * service makes every recording whole: ended by a beacon when the tab
 * closed, or abandoned. Such a recording lacks the SDK's stop-time work:
 * - its last part may end inside a block or Cluster (the upload was cut
 *   off with the tab), which players and ffmpeg report as a decode error;
 * - Info has no Duration (MediaRecorder writes none), so players show no
 *   length and cannot seek;
 * - the service does not know its duration.
 *
 * On a backend whose parts pass through the service (local disk: the
 * PartReceiver), the parts are streamed once through WebmScanner (constant
 * memory, never the whole recording), then:
 * - the part holding the end of the last complete block is stored again, cut
 *   there, and every later part is dropped;
 * - part 1 is stored again with the Duration written into its head (only
 *   the head is held in memory; the rest of the part is streamed after it);
 * - the database records the new versions under the recording's row lock as
 *   acceptPart does, and the superseded versions are discarded after the commit.
 *
 * Anything it does not understand (not WebM, bytes that stop being WebM
 * before their end, a head it cannot patch) is left exactly as it is: a
 * repair never loses bytes it cannot account for. On S3, where the service
 * never holds the parts, the finished object is repaired (repair-object.ts).
 */
import { Readable } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { WebmScanner, isPlaceholderDuration, setWebmDuration, type WebmScanResult } from '@sortie/webm';
import type { Db } from '../db/client.js';
import { recordingParts, recordings, type RecordingRow } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { normalizeEtag, type PartReceiver, type StoredPart } from '../storage/types.js';

/** Bytes read after Info to write the Duration: room for a Void after it to absorb the 11 bytes. */
const HEAD_SLACK_BYTES = 4096;
/**
 * The head is held in memory to be patched: MediaRecorder's Info ends within
 * the first 100 bytes. A file whose Info ends later than this is not patched
 * (it is still cut), so a crafted head can never make the service buffer much.
 */
const MAX_HEAD_BYTES = 1024 * 1024;

export interface RepairArgs {
  db: Db;
  clock: Clock;
  receiver: PartReceiver;
  logger: Logger;
  row: RecordingRow;
  /** The parts to join, 1..n in order, as finalize checked them against the database. */
  parts: { partNumber: number; etag: string }[];
}

export interface RepairResult {
  /** The parts to join now (new ETags for the versions written, later parts dropped). */
  parts: { partNumber: number; etag: string }[];
  /** The duration of the complete blocks (ms), or null when the bytes were left alone. */
  durationMs: number | null;
  /** What was done, for the logs and tests: nothing, or a cut and/or the Duration written. */
  cutAt: number | null;
  durationWritten: boolean;
}

export function isWebm(row: Pick<RecordingRow, 'mimeType' | 'storageKey'>): boolean {
  return row.mimeType.toLowerCase().startsWith('video/webm') || row.mimeType.toLowerCase().startsWith('audio/webm');
}

/** Scans the parts in order; returns the scan and where each part starts and ends. */
async function scanParts(
  receiver: PartReceiver,
  key: string,
  parts: RepairArgs['parts'],
): Promise<{ scan: WebmScanResult; bounds: { start: number; end: number }[] }> {
  const scanner = new WebmScanner();
  const bounds: { start: number; end: number }[] = [];
  let offset = 0;
  for (const p of parts) {
    const start = offset;
    for await (const chunk of await receiver.readPart({ key, partNumber: p.partNumber, etag: p.etag })) {
      const bytes = chunk as Buffer;
      offset += bytes.length;
      scanner.push(bytes);
    }
    bounds.push({ start, end: offset });
  }
  return { scan: scanner.result, bounds };
}

/** Reads bytes [start, end) of one stored part version into memory (only ever a head: a few KiB). */
async function readRange(
  receiver: PartReceiver,
  key: string,
  p: { partNumber: number; etag: string },
  start: number,
  end: number,
): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of await receiver.readPart({
    key,
    partNumber: p.partNumber,
    etag: p.etag,
    range: { start, end: end - 1 },
  }))
    chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `head`, then bytes [from, to) of a stored part version, read as they are sent. */
function headThenRest(
  receiver: PartReceiver,
  key: string,
  p: { partNumber: number; etag: string },
  head: Uint8Array,
  from: number,
  to: number,
): Readable {
  async function* body() {
    if (head.length > 0) yield Buffer.from(head.buffer, head.byteOffset, head.length);
    if (to > from)
      yield* await receiver.readPart({
        key,
        partNumber: p.partNumber,
        etag: p.etag,
        range: { start: from, end: to - 1 },
      });
  }
  return Readable.from(body(), { objectMode: false });
}

/**
 * Repairs a WebM recording finalized without its client (see the file's
 * comment). Returns what to join; never throws for bytes it cannot repair
 * (they are joined as they are, with a warning).
 */
export async function repairWebm(args: RepairArgs): Promise<RepairResult> {
  const { receiver, row, logger } = args;
  const key = row.storageKey;
  const asIs: RepairResult = { parts: args.parts, durationMs: null, cutAt: null, durationWritten: false };
  let scanned;
  try {
    scanned = await scanParts(receiver, key, args.parts);
  } catch (err) {
    logger.warn('recording not repaired: its parts could not be read', { recordingId: row.id, err: String(err) });
    return asIs;
  }
  const { scan, bounds } = scanned;
  if (!scan.ok || scan.cutAt === null || scan.blocks === 0 || !scan.info) {
    logger.warn('recording not repaired: its bytes are not a WebM file the service can read; finalized as it is', {
      recordingId: row.id,
      bytes: scan.bytes,
      webm: scan.ok,
      blocks: scan.blocks,
    });
    return asIs;
  }
  const durationMs = scan.durationMs;
  const total = scan.bytes;
  const cutAt = scan.cutAt < total ? scan.cutAt : null;

  // The part the kept bytes end in, and its new length (null: it is kept whole).
  let lastKept = args.parts.length - 1;
  let lastKeptLength: number | null = null;
  if (cutAt !== null) {
    lastKept = bounds.findIndex((b) => cutAt > b.start && cutAt <= b.end);
    if (lastKept < 0) return asIs;
    const b = bounds[lastKept]!;
    lastKeptLength = cutAt < b.end ? cutAt - b.start : null;
  }

  // The Duration goes into Info, which lies in part 1. A Duration the client wrote is rewritten
  // only when the end moved (a cut) or it is a placeholder: otherwise it is the client's own account.
  const first = args.parts[0]!;
  const part1Length = lastKept === 0 && lastKeptLength !== null ? lastKeptLength : bounds[0]!.end;
  let head: Uint8Array | null = null;
  let headLength = 0;
  if (
    durationMs !== null &&
    (!scan.info.hasDuration || cutAt !== null || isPlaceholderDuration(scan.info.durationMs, scan.durationMs)) &&
    scan.info.end <= part1Length &&
    scan.info.end <= MAX_HEAD_BYTES
  ) {
    headLength = Math.min(part1Length, scan.info.end + HEAD_SLACK_BYTES);
    try {
      head = setWebmDuration(await readRange(receiver, key, first, 0, headLength), durationMs);
    } catch (err) {
      logger.warn('recording repair: could not read the head of part 1', { recordingId: row.id, err: String(err) });
      head = null;
    }
    if (!head)
      logger.warn('recording repair: the Duration could not be written into this head; left without one', {
        recordingId: row.id,
      });
  }

  // New versions: part 1 (Duration, and its cut when the kept bytes end in it), the cut part.
  const plans = new Map<number, () => Readable>();
  const sizes = new Map<number, number>();
  if (head) {
    const h = head;
    plans.set(0, () => headThenRest(receiver, key, first, h, headLength, part1Length));
    sizes.set(0, h.length + (part1Length - headLength));
  }
  if (lastKeptLength !== null && !(lastKept === 0 && head)) {
    const p = args.parts[lastKept]!;
    const len = lastKeptLength;
    plans.set(lastKept, () => headThenRest(receiver, key, p, new Uint8Array(0), 0, len));
    sizes.set(lastKept, len);
  }
  const dropped = args.parts.slice(lastKept + 1);
  if (plans.size === 0 && dropped.length === 0) return { ...asIs, durationMs };

  const written = new Map<number, StoredPart>();
  const discardWritten = async () => {
    for (const [i, s] of written)
      await receiver.discardPart({ key, partNumber: args.parts[i]!.partNumber, etag: s.etag }).catch(() => {});
  };
  try {
    for (const [i, body] of plans) {
      const p = args.parts[i]!;
      written.set(
        i,
        await receiver.writePart({ key, partNumber: p.partNumber, sizeBytes: sizes.get(i)!, body: body() }),
      );
    }
  } catch (err) {
    await discardWritten();
    logger.warn('recording not repaired: a repaired part could not be stored; finalized as it is', {
      recordingId: row.id,
      err: String(err),
    });
    return asIs;
  }

  // Record the new versions as acceptPart does: under the row lock, only if every part is still the
  // version that was read (a part sent again meanwhile wins; the repair is then not this one's to make).
  const now = args.clock.now();
  const committed = await args.db
    .transaction(async (tx) => {
      const [locked] = await tx.select().from(recordings).where(eq(recordings.id, row.id)).for('update');
      if (!locked || (locked.status !== 'recording' && locked.status !== 'uploading')) return false;
      const current = await tx.select().from(recordingParts).where(eq(recordingParts.recordingId, row.id));
      const byNumber = new Map(current.map((r) => [r.partNumber, r.etag]));
      if (
        !args.parts.every(
          (p) =>
            byNumber.get(p.partNumber) != null && normalizeEtag(byNumber.get(p.partNumber)!) === normalizeEtag(p.etag),
        )
      )
        return false;
      for (const [i, s] of written) {
        await tx
          .update(recordingParts)
          .set({ storedSize: s.sizeBytes, etag: s.etag, updatedAt: now })
          .where(and(eq(recordingParts.recordingId, row.id), eq(recordingParts.partNumber, args.parts[i]!.partNumber)));
      }
      if (dropped.length > 0) {
        await tx.delete(recordingParts).where(
          and(
            eq(recordingParts.recordingId, row.id),
            inArray(
              recordingParts.partNumber,
              dropped.map((p) => p.partNumber),
            ),
          ),
        );
      }
      const [sum] = await tx
        .select({ total: sql<string>`coalesce(sum(${recordingParts.storedSize}), 0)` })
        .from(recordingParts)
        .where(eq(recordingParts.recordingId, row.id));
      await tx
        .update(recordings)
        .set({ updatedAt: now, sizeBytes: Number(sum?.total ?? 0) })
        .where(eq(recordings.id, row.id));
      return true;
    })
    .catch(async (err: unknown) => {
      await discardWritten();
      throw err;
    });
  if (!committed) {
    await discardWritten();
    logger.warn('recording not repaired: a part changed, or the recording ended, while it was repaired', {
      recordingId: row.id,
    });
    return asIs;
  }
  // After the commit, so the database never names a deleted version; a crash here leaves orphan
  // versions, which markReady's abortUpload removes with the parts folder.
  for (const i of written.keys())
    await receiver
      .discardPart({ key, partNumber: args.parts[i]!.partNumber, etag: args.parts[i]!.etag })
      .catch(() => {});
  for (const p of dropped) await receiver.discardPart({ key, partNumber: p.partNumber, etag: p.etag }).catch(() => {});

  const parts = args.parts
    .slice(0, lastKept + 1)
    .map((p, i) => (written.has(i) ? { partNumber: p.partNumber, etag: written.get(i)!.etag } : p));
  logger.info('recording repaired', {
    recordingId: row.id,
    bytes: total,
    cutAt,
    droppedParts: dropped.map((p) => p.partNumber),
    durationMs,
    durationWritten: head !== null,
  });
  return { parts, durationMs, cutAt, durationWritten: head !== null };
}
