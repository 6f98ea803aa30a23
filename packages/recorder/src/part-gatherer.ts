/**
 * Gathers MediaRecorder chunks into upload parts that obey the service's
 * rules (API.md §5): every part but the last at least `minPartSizeBytes`
 * (5 MiB on S3), at most `maxParts` parts. Parts hold whole chunks as Blobs,
 * so the bytes stay wherever the browser keeps Blob data, never copied.
 */

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
   * the service allows: the first chunk alone locally, 5 MiB on S3.
   */
  firstPartSizeBytes: number;
}

/** Default wish for the part size: few enough requests, little held in memory. */
export const DEFAULT_PART_SIZE_BYTES = 1024 * 1024;

/**
 * Part size: the caller's wish, raised to the service's minimum, and raised
 * again until the largest recording the size limit allows fits in `maxParts`.
 * Parts close at or above the size, so n parts hold at least (n-1)·size
 * bytes: size ≥ maxSizeBytes/(maxParts-1) keeps n ≤ maxParts.
 */
export function planParts(rules: PartRules, wishBytes = DEFAULT_PART_SIZE_BYTES): PartPlan {
  const fit = rules.maxParts > 1 ? Math.ceil(rules.maxSizeBytes / (rules.maxParts - 1)) : rules.maxSizeBytes;
  const partSizeBytes = Math.max(1, Math.floor(wishBytes), rules.minPartSizeBytes, fit);
  return { partSizeBytes, firstPartSizeBytes: Math.max(1, rules.minPartSizeBytes) };
}

export interface Part {
  partNumber: number;
  data: Blob;
}

export class PartGatherer {
  private chunks: Blob[] = [];
  private buffered = 0;
  private next = 1;

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

  private close(): Part {
    const part = { partNumber: this.next++, data: new Blob(this.chunks, { type: this.type }) };
    this.chunks = [];
    this.buffered = 0;
    return part;
  }
}
