/**
 * Gathers MediaRecorder chunks into upload parts that obey the service's
 * rules (docs/API.md "Upload protocol"): every part but the last at least `minPartSizeBytes`
 * (5 MiB on S3), at most `maxParts` parts. Parts hold whole chunks as Blobs,
 * so the bytes stay wherever the browser keeps Blob data, never copied.
 */
import { DEFAULT_PART_SIZE_BYTES } from './options.js';

export interface PartRules {
  minPartSizeBytes: number;
  maxParts: number;
  maxSizeBytes: number;
}

export interface PartPlan {
  /** A part closes once it holds at least this many bytes. */
  partSizeBytes: number;
  /**
   * Part 1 closes at this size. It is kept in memory until `stop` (the
   * Duration is written into it and it is sent again), so it is as small as
   * the service allows while still holding the file's head (`headBytes`):
   * 64 KiB locally for WebM, 5 MiB on S3.
   */
  firstPartSizeBytes: number;
  /**
   * Parts may also close by time (Take's maxLagMs): only where a part may be
   * any size (the local backend, `minPartSizeBytes` 0). On S3 a part under
   * 5 MiB is refused unless it is the last, so there parts close by size only.
   */
  timeCommits?: boolean;
  /** The service's rules, kept so that parts closed by time never cost a part the size limit needs. */
  maxParts?: number;
  maxSizeBytes?: number;
}

/**
 * Part size: the caller's wish, raised to the service's minimum, and raised
 * again until the largest recording the size limit allows fits in `maxParts`.
 *
 * Why size ≥ maxSizeBytes/(maxParts-1) is enough, part 1 included: with n
 * parts, part 1 holds at least 1 byte (it closes at `firstPartSizeBytes`,
 * which may be tiny), parts 2..n-1 at least `size` each, and part n at least
 * 1 byte (an empty flush makes no part). So (n-2)·size ≤ maxSizeBytes - 2 <
 * maxSizeBytes ≤ (maxParts-1)·size, hence n-2 < maxParts-1, n ≤ maxParts.
 * The one case this misses is maxParts = 1: part 1 must then hold the whole
 * recording, so it closes at the limit too.
 *
 * `headBytes`: part 1 holds at least this many bytes, so that the bytes read
 * to write the Duration at stop are all in part 1. Chunk boundaries are not
 * element boundaries: Chromium can hand over a first chunk of one byte, and
 * a part 1 of that chunk alone has no Info to write the Duration into.
 */
export function planParts(rules: PartRules, wishBytes = DEFAULT_PART_SIZE_BYTES, headBytes = 0): PartPlan {
  const single = rules.maxParts <= 1;
  const fit = single ? rules.maxSizeBytes : Math.ceil(rules.maxSizeBytes / (rules.maxParts - 1));
  const partSizeBytes = Math.max(1, Math.floor(wishBytes), rules.minPartSizeBytes, fit);
  const firstPartSizeBytes = Math.max(
    1,
    rules.minPartSizeBytes,
    Math.floor(headBytes),
    single ? rules.maxSizeBytes : 0,
  );
  const timeCommits = rules.minPartSizeBytes <= 1 && !single;
  return { partSizeBytes, firstPartSizeBytes, timeCommits, maxParts: rules.maxParts, maxSizeBytes: rules.maxSizeBytes };
}

export interface Part {
  partNumber: number;
  data: Blob;
}

export class PartGatherer {
  private chunks: Blob[] = [];
  private buffered = 0;
  private next = 1;
  /** Bytes in parts closed so far. */
  private closedBytes = 0;

  constructor(
    readonly plan: PartPlan,
    private readonly type = '',
  ) {}

  /** Bytes received but not yet closed into a part. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Number of parts closed so far. */
  get partCount(): number {
    return this.next - 1;
  }

  /** Adds a chunk; returns the part it closed, if any. */
  push(chunk: Blob): Part | null {
    if (chunk.size === 0) return null;
    this.chunks.push(chunk);
    this.buffered += chunk.size;
    const target = this.next === 1 ? this.plan.firstPartSizeBytes : this.plan.partSizeBytes;
    return this.buffered >= target ? this.close() : null;
  }

  /** Closes whatever is buffered as the last part (null when nothing is). */
  flush(): Part | null {
    return this.buffered > 0 ? this.close() : null;
  }

  /**
   * May what is buffered close now as a part smaller than the plan's size
   * (closing by time)? Only where parts may be any size, and only while the
   * part count allows it: after closing part k early, the rest of the size
   * limit must still fit in maxParts with parts of `partSizeBytes` (at most
   * floor(left / size) full parts plus one last). Every early close is
   * checked so, and every close by size uses up a full part of the limit,
   * so the recording can still reach its size limit in maxParts parts.
   */
  canCloseEarly(): boolean {
    const plan = this.plan;
    if (!plan.timeCommits || this.buffered === 0) return false;
    if (plan.maxParts === undefined || plan.maxSizeBytes === undefined) return true;
    const left = Math.max(0, plan.maxSizeBytes - this.closedBytes - this.buffered);
    return this.next + Math.floor(left / plan.partSizeBytes) + 1 <= plan.maxParts;
  }

  /** Closes what is buffered as a part before it reaches the plan's size (by time), when canCloseEarly(); else null. */
  closeEarly(): Part | null {
    return this.canCloseEarly() ? this.close() : null;
  }

  private close(): Part {
    this.closedBytes += this.buffered;
    const part = { partNumber: this.next++, data: new Blob(this.chunks, { type: this.type }) };
    this.chunks = [];
    this.buffered = 0;
    return part;
  }
}
