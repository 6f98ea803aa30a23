/**
 * The repair of a WebM recording its client never finished (see repair.ts
 * for why), on a backend where the service never held the parts (S3): done
 * on the finished object, without downloading it whole.
 *
 * - The head (up to the first Cluster, a few hundred bytes from MediaRecorder)
 *   is read to learn Info and where the Clusters start.
 * - The last Cluster is found from the end: the object's last bytes are
 *   searched (streamed, a window that grows ×4 while none is found) for a
 *   Cluster ID whose first child is its Timecode. From there to the end,
 *   behind the head's bytes, the one WebmScanner (@sortie/webm) reads where
 *   the last complete block ends and the duration. Chromium starts a Cluster
 *   at least every ~30 s, so this reads one Cluster's worth, not the file.
 * - The storage rewrites the object as: the head with the Duration written
 *   (setWebmDuration, the SDK's own writer), then its own bytes up to the
 *   last complete block, copied inside the bucket (S3: a new multipart
 *   upload, UploadPartCopy; only the first 5 MiB pass through the service).
 *
 * Anything it does not understand is left as it is, with a warning: a repair
 * never loses bytes it cannot account for.
 */
import type { Readable } from 'node:stream';
import {
  WebmScanner,
  isPlaceholderDuration,
  readElement,
  readWebmDuration,
  setWebmDuration,
  type WebmScanResult,
} from '@sortie/webm';
import type { RecordingRow } from '../db/schema.js';
import type { Logger } from '../lib/logger.js';
import type { RecordingStorage } from '../storage/types.js';

const ID_EBML = 0x1a45dfa3;
const ID_SEGMENT = 0x18538067;
const ID_CLUSTER = 0x1f43b675;
const ID_CLUSTER_TIMECODE = 0xe7;
const CLUSTER_ID_BYTES = [0x1f, 0x43, 0xb6, 0x75];

/** Bytes read from the start to find the first Cluster; MediaRecorder's head is far smaller. */
const HEAD_READ_BYTES = 64 * 1024;
/** Bytes after Info kept with the head when the Duration is written (room for the 11 it adds). */
const HEAD_SLACK_BYTES = 4096;
/** First window searched from the end for the last Cluster; grown ×4 while none is found. */
const FIRST_WINDOW_BYTES = 1024 * 1024;

export interface ObjectRepairResult {
  sizeBytes: number;
  durationMs: number | null;
  cutAt: number | null;
  durationWritten: boolean;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Offset of the first Cluster in `head` (walking the Segment's children), or null. */
function firstCluster(head: Uint8Array): number | null {
  const ebml = readElement(head, 0);
  if (!ebml || ebml.id !== ID_EBML || ebml.size === null) return null;
  const segment = readElement(head, ebml.dataStart + ebml.size);
  if (!segment || segment.id !== ID_SEGMENT) return null;
  let pos = segment.dataStart;
  for (;;) {
    const el = readElement(head, pos);
    if (!el) return null;
    if (el.id === ID_CLUSTER) return el.start;
    if (el.size === null) return null;
    pos = el.dataStart + el.size;
  }
}

/** Offsets (absolute, ascending) in the stream starting at `base` where a Cluster header with its Timecode starts. */
async function clusterCandidates(stream: Readable, base: number): Promise<number[]> {
  const found: number[] = [];
  // The last bytes of the previous chunk: a header cut by a chunk boundary (ID 4 + size ≤ 8 + Timecode ID 1).
  let carry = Buffer.alloc(0);
  let carryAt = base;
  for await (const c of stream) {
    const buf = carry.length ? Buffer.concat([carry, c as Buffer]) : (c as Buffer);
    const at = carryAt;
    for (
      let i = buf.indexOf(CLUSTER_ID_BYTES[0]!);
      i >= 0 && i + 13 <= buf.length;
      i = buf.indexOf(CLUSTER_ID_BYTES[0]!, i + 1)
    ) {
      if (
        buf[i + 1] !== CLUSTER_ID_BYTES[1] ||
        buf[i + 2] !== CLUSTER_ID_BYTES[2] ||
        buf[i + 3] !== CLUSTER_ID_BYTES[3]
      )
        continue;
      const el = readElement(buf, i);
      const child = el ? readElement(buf, el.dataStart) : null;
      if (el?.id === ID_CLUSTER && child?.id === ID_CLUSTER_TIMECODE) found.push(at + i);
    }
    const keep = Math.min(buf.length, 12);
    carry = Buffer.from(buf.subarray(buf.length - keep));
    carryAt = at + buf.length - keep;
  }
  return [...new Set(found)].sort((a, b) => a - b);
}

export interface ObjectRepairArgs {
  storage: RecordingStorage;
  logger: Logger;
  row: RecordingRow;
  /** The finished object's size. */
  sizeBytes: number;
}

/** Repairs the finished object of `row` (see the file's comment); what it is now. Never throws for bytes it cannot repair. */
export async function repairWebmObject(args: ObjectRepairArgs): Promise<ObjectRepairResult> {
  const { storage, logger, row } = args;
  const key = row.storageKey;
  const size = args.sizeBytes;
  const asIs: ObjectRepairResult = { sizeBytes: size, durationMs: null, cutAt: null, durationWritten: false };
  if (!storage.rewriteObject || size === 0) return asIs;
  try {
    const head = await readAll(await storage.read(key, { start: 0, end: Math.min(size, HEAD_READ_BYTES) - 1 }));
    const clustersAt = firstCluster(head);
    if (clustersAt === null) {
      logger.warn('recording not repaired: no WebM head with a Cluster the service can read; finalized as it is', {
        recordingId: row.id,
      });
      return asIs;
    }
    const prefix = head.subarray(0, clustersAt);

    // The last Cluster that scans as WebM, searched from the end in growing windows.
    let scan: WebmScanResult | null = null;
    let from = 0;
    let searched = size;
    for (let window = FIRST_WINDOW_BYTES; ; window *= 4) {
      const start = Math.max(clustersAt, size - window);
      const candidates = (
        await clusterCandidates(await storage.read(key, { start, end: searched - 1 }), start)
      ).reverse();
      for (const c of candidates) {
        const scanner = new WebmScanner();
        scanner.push(prefix);
        for await (const chunk of await storage.read(key, { start: c, end: size - 1 })) scanner.push(chunk as Buffer);
        const r = scanner.result;
        if (r.ok && r.blocks > 0 && r.cutAt !== null && r.cutAt > prefix.length && r.info) {
          scan = r;
          from = c;
          break;
        }
      }
      // Searched up to the first Cluster: there is none this scan can read.
      if (scan || start === clustersAt) break;
      // The next window overlaps this one by a header's length, so a Cluster ID cut at its edge is found.
      searched = start + 16;
    }
    if (!scan?.info) {
      logger.warn('recording not repaired: no complete Cluster found from its end; finalized as it is', {
        recordingId: row.id,
      });
      return asIs;
    }
    // Offsets in the scan count the head's bytes, then the object's from `from`.
    const cutAt = from + (scan.cutAt! - prefix.length);
    const durationMs = scan.durationMs;
    const cut = cutAt < size ? cutAt : null;
    let patched: Uint8Array | null = null;
    let headLength = 0;
    const placeholder = isPlaceholderDuration(scan.info.durationMs, scan.durationMs);
    if (durationMs !== null && (!scan.info.hasDuration || cut !== null || placeholder) && scan.info.end <= clustersAt) {
      headLength = Math.min(clustersAt, scan.info.end + HEAD_SLACK_BYTES);
      patched = setWebmDuration(head.subarray(0, headLength), durationMs);
      if (!patched)
        logger.warn('recording repair: the Duration could not be written into this head; left without one', {
          recordingId: row.id,
        });
    }
    if (!patched && cut === null) return { ...asIs, durationMs };
    const done = await storage.rewriteObject({
      key,
      mimeType: row.mimeType,
      head: patched ?? new Uint8Array(0),
      from: patched ? headLength : 0,
      end: cutAt,
    });
    logger.info('recording repaired', {
      recordingId: row.id,
      bytes: size,
      cutAt: cut,
      durationMs,
      durationWritten: patched !== null,
      lastClusterAt: from,
    });
    return { sizeBytes: done.sizeBytes, durationMs, cutAt: cut, durationWritten: patched !== null };
  } catch (err) {
    logger.warn('recording not repaired: its object could not be read or rewritten; finalized as it is', {
      recordingId: row.id,
      err: String(err),
    });
    return asIs;
  }
}

/**
 * The SDK's own first 64 KiB of part 1 (its HEAD_BYTES): patching the same
 * slice with the same writer gives the same bytes as the SDK would have sent.
 */
const SDK_HEAD_BYTES = 64 * 1024;

/**
 * A normal stop on a backend that writes the Duration itself
 * (RecordingConfig.writesDuration, S3): the SDK did not send part 1 again with
 * it, so the finished object gets it here — the same `setWebmDuration` on the
 * same first 64 KiB the SDK would have patched, so the file is byte for byte
 * what it would have uploaded — by the same rewrite as the repair (only the
 * first 5 MiB pass through the service). A head that has a Duration already
 * (an SDK that sent part 1 again) or that the writer does not know is left as
 * it is; a storage failure is thrown (the client's complete is retried).
 */
export async function writeDurationObject(args: ObjectRepairArgs & { durationMs: number }): Promise<number> {
  const { storage, logger, row } = args;
  const size = args.sizeBytes;
  if (!storage.rewriteObject || size === 0) return size;
  const headLength = Math.min(size, SDK_HEAD_BYTES);
  const head = await readAll(await storage.read(row.storageKey, { start: 0, end: headLength - 1 }));
  // A Duration the client wrote stays, unless it is a placeholder far shorter than the one it reports.
  const written = readWebmDuration(head);
  if (written !== null && !isPlaceholderDuration(written, args.durationMs)) return size;
  // Not WebM at all (no EBML header): nothing to write into, nothing to say.
  if (head.length < 4 || head.readUInt32BE(0) !== ID_EBML) return size;
  const patched = setWebmDuration(head, args.durationMs);
  if (!patched) {
    logger.warn('Duration not written: the head is not WebM the writer knows; kept as uploaded', {
      recordingId: row.id,
    });
    return size;
  }
  const done = await storage.rewriteObject({
    key: row.storageKey,
    mimeType: row.mimeType,
    head: patched,
    from: headLength,
    end: size,
  });
  logger.info('Duration written at complete', { recordingId: row.id, durationMs: args.durationMs });
  return done.sizeBytes;
}
