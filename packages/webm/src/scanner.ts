/**
 * A streaming scan of a whole WebM file, for the service's repair of a
 * recording its client never finished (the tab closed, the browser died):
 * fed the bytes chunk by chunk, it never holds more than one element header
 * or one small value, so a recording of any size is read in constant memory.
 *
 * It reports what the repair needs:
 * - where Info is and whether it has a Duration (MediaRecorder writes none);
 * - the TimecodeScale;
 * - `cutAt`: the end of the last complete block (SimpleBlock or BlockGroup,
 *   a child of a Cluster) or complete top-level element. The bytes after it
 *   are an element the upload cut off; cutting there leaves a file that
 *   decodes cleanly;
 * - the duration of the complete blocks, counted from 0 as players do: over
 *   every track, the last block's time plus that track's last frame interval
 *   (the same rule as WebmTimeline, so the service and the SDK agree).
 *
 * Segment and Cluster may have unknown size (Chromium writes both so): an
 * unknown-size Cluster ends where an element that cannot be its child starts.
 * Anything that is not WebM this scan follows (garbage, an element that
 * overruns its parent, an unknown size where one is needed) stops it with
 * `ok` false: the caller then leaves the bytes alone. Bytes that merely end
 * early never do; that is the case it exists for.
 */

const ID_EBML = 0x1a45dfa3;
const ID_SEGMENT = 0x18538067;
const ID_INFO = 0x1549a966;
const ID_TIMECODE_SCALE = 0x2ad7b1;
const ID_DURATION = 0x4489;
const ID_CLUSTER = 0x1f43b675;
const ID_CLUSTER_TIMECODE = 0xe7;
const ID_SIMPLE_BLOCK = 0xa3;
const ID_BLOCK_GROUP = 0xa0;
const ID_BLOCK = 0xa1;

/** What may appear inside a Cluster (Matroska spec); any other ID closes an unknown-size Cluster. */
const CLUSTER_CHILDREN = new Set([
  ID_CLUSTER_TIMECODE,
  0x5854, // SilentTracks
  0xa7, // Position
  0xab, // PrevSize
  ID_SIMPLE_BLOCK,
  ID_BLOCK_GROUP,
  0xaf, // EncryptedBlock
  0xec, // Void
  0xbf, // CRC-32
]);

/** Larger than any integer or float this scan reads (they are at most 8 bytes). */
const MAX_VALUE_SIZE = 8;

export interface WebmScanResult {
  /** False when the bytes stopped being WebM this scan follows (not merely cut short). */
  ok: boolean;
  /** Bytes pushed so far. */
  bytes: number;
  /** The Info element (absolute offsets of its ID and of its end), once its header was read. */
  info: { start: number; end: number; hasDuration: boolean; durationMs: number | null } | null;
  /** Nanoseconds per timestamp unit (1 000 000, the default: timestamps in ms). */
  timecodeScale: number;
  /**
   * End of the last complete block or top-level element: the length to cut
   * the file to so that nothing incomplete trails. null before the first one.
   */
  cutAt: number | null;
  /** Complete blocks seen. */
  blocks: number;
  /** First complete block's time in ms, or null. */
  firstBlockMs: number | null;
  /** Duration of the complete blocks in ms (from 0, plus one frame interval), or null with no block. */
  durationMs: number | null;
}

interface Open {
  id: number;
  /** Absolute end, or null (unknown size). */
  end: number | null;
}

/** A variable-length integer's width from its first byte (0: invalid). */
function vintWidth(first: number): number {
  const w = Math.clz32(first) - 23;
  return w >= 1 && w <= 8 ? w : 0;
}

export class WebmScanner {
  /** Bytes kept from the previous chunk: an element header or a small value it cut. */
  private tail: Uint8Array = new Uint8Array(0);
  /** Absolute offset of the next byte to parse. */
  private pos = 0;
  /** Bytes of element data still to pass over. */
  private skip = 0;
  private total = 0;
  private failed = false;
  private started = false;
  private stack: Open[] = [];
  private scale = 1_000_000;
  private info: WebmScanResult['info'] = null;
  private durationValue: number | null = null;
  private clusterTime: number | null = null;
  /** The block (SimpleBlock or BlockGroup) being passed over: counted once its last byte is. */
  private pending: { end: number; track: number | null; time: number | null } | null = null;
  private safeEnd: number | null = null;
  private blocks = 0;
  private first: number | null = null;
  private tracks = new Map<number, { last: number; prev: number | null }>();

  /** Reads the next bytes of the file. Never throws. */
  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.failed || chunk.length === 0) return;
    let buf = chunk;
    if (this.tail.length > 0) {
      buf = new Uint8Array(this.tail.length + chunk.length);
      buf.set(this.tail);
      buf.set(chunk, this.tail.length);
    }
    // The tail starts at this.pos: buf[0] is at absolute offset `base`.
    const base = this.pos;
    let p = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - p);
        p += n;
        this.skip -= n;
        this.pos = base + p;
        if (this.skip > 0) break;
      }
      this.settle();
      if (this.failed) return;
      if (p >= buf.length) break;
      const step = this.element(buf, p, base);
      if (step === 'more') break;
      if (step === 'bad') return this.fail();
      p = step;
      this.pos = base + p;
    }
    this.tail = buf.slice(p);
  }

  get result(): WebmScanResult {
    let durationMs: number | null = null;
    if (this.tracks.size > 0) {
      let end = 0;
      for (const { last, prev } of this.tracks.values())
        end = Math.max(end, last + (prev === null ? 0 : Math.max(0, last - prev)));
      durationMs = (end * this.scale) / 1e6;
    }
    return {
      ok: !this.failed,
      bytes: this.total,
      info: this.info && {
        ...this.info,
        durationMs: this.durationValue === null ? null : (this.durationValue * this.scale) / 1e6,
      },
      timecodeScale: this.scale,
      cutAt: this.safeEnd,
      blocks: this.blocks,
      firstBlockMs: this.first === null ? null : (this.first * this.scale) / 1e6,
      durationMs,
    };
  }

  private fail(): void {
    this.failed = true;
    this.tail = new Uint8Array(0);
  }

  /** Closes what ends at the current position: a finished block is counted, a sized container popped. */
  private settle(): void {
    for (;;) {
      if (this.pending && this.pos >= this.pending.end) {
        if (this.pos > this.pending.end) return this.fail();
        this.countBlock(this.pending);
        this.pending = null;
        continue;
      }
      const top = this.stack[this.stack.length - 1];
      if (top && top.end !== null && this.pos >= top.end) {
        if (this.pos > top.end) return this.fail();
        this.stack.pop();
        this.closed(top);
        continue;
      }
      return;
    }
  }

  private countBlock(b: { end: number; track: number | null; time: number | null }): void {
    // A BlockGroup without a Block holds no frame, but it is complete: still a place to cut.
    if (b.track !== null && b.time !== null) {
      this.blocks++;
      if (this.first === null) this.first = b.time;
      const t = this.tracks.get(b.track);
      if (!t) this.tracks.set(b.track, { last: b.time, prev: null });
      else if (b.time >= t.last) this.tracks.set(b.track, { last: b.time, prev: t.last });
    }
    this.safeEnd = b.end;
  }

  /** A sized container ended at this.pos. */
  private closed(el: Open): void {
    const parent = this.stack[this.stack.length - 1];
    // A whole top-level element (a sized Cluster, Cues after the Clusters): a place to cut.
    if (parent?.id === ID_SEGMENT || el.id === ID_SEGMENT) this.safeEnd = this.pos;
  }

  /**
   * Reads the element at buf[p] (absolute base + p): returns the index where
   * parsing goes on (its data for a container, else after what was read, with
   * this.skip set to the rest), 'more' when the bytes end first, 'bad'.
   */
  private element(buf: Uint8Array, p: number, base: number): number | 'more' | 'bad' {
    const idWidth = vintWidth(buf[p]!);
    if (idWidth === 0 || idWidth > 4) return 'bad';
    if (p + idWidth >= buf.length) return 'more';
    let id = 0;
    for (let i = 0; i < idWidth; i++) id = id * 256 + buf[p + i]!;
    const s = p + idWidth;
    const sizeWidth = vintWidth(buf[s]!);
    if (sizeWidth === 0) return 'bad';
    if (s + sizeWidth > buf.length) return 'more';
    let size = buf[s]! & (0xff >> sizeWidth);
    let allOnes = size === 0xff >> sizeWidth;
    for (let i = 1; i < sizeWidth; i++) {
      size = size * 256 + buf[s + i]!;
      if (buf[s + i] !== 0xff) allOnes = false;
    }
    const sized: number | null = allOnes ? null : size;
    const data = s + sizeWidth;
    const start = base + p;
    const dataAbs = base + data;

    if (!this.started) {
      if (id !== ID_EBML || sized === null) return 'bad';
      this.started = true;
    }
    // An element that cannot be a child of an unknown-size Cluster ends it.
    let parent = this.stack[this.stack.length - 1];
    while (parent && parent.end === null && parent.id === ID_CLUSTER && !CLUSTER_CHILDREN.has(id)) {
      this.stack.pop();
      parent = this.stack[this.stack.length - 1];
    }
    if (sized !== null && parent && parent.end !== null && dataAbs + sized > parent.end) return 'bad';
    const end = sized === null ? null : dataAbs + sized;
    const where = parent?.id ?? 0;

    const open = (): number => {
      this.stack.push({ id, end });
      return data;
    };
    const pass = (): number | 'bad' => {
      if (sized === null) return 'bad';
      this.skip = sized;
      // A top-level element (EBML header) or a child of the Segment (Tracks, Cues, a sized Cluster
      // passed over whole): once it is passed, a place to cut. Counted in settle via `pending`.
      if (where === 0 || where === ID_SEGMENT) this.pending = { end: end!, track: null, time: null };
      return data;
    };
    /** A small unsigned integer or float, read whole: waits for its bytes. */
    const value = (): number | 'more' | 'bad' => {
      if (sized === null || sized > MAX_VALUE_SIZE) return 'bad';
      if (data + sized > buf.length) return 'more';
      return data + sized;
    };

    if (where === 0) {
      if (id === ID_SEGMENT) return open();
      return pass();
    }
    if (where === ID_SEGMENT) {
      if (id === ID_INFO) {
        if (sized === null) return 'bad';
        this.info = { start, end: end!, hasDuration: false, durationMs: null };
        return open();
      }
      if (id === ID_CLUSTER) {
        this.clusterTime = null;
        return open();
      }
      return pass();
    }
    if (where === ID_INFO) {
      if (id === ID_TIMECODE_SCALE || id === ID_DURATION) {
        const next = value();
        if (typeof next !== 'number') return next;
        if (id === ID_TIMECODE_SCALE) {
          let v = 0;
          for (let i = 0; i < sized!; i++) v = v * 256 + buf[data + i]!;
          if (v > 0) this.scale = v;
        } else if (sized === 4 || sized === 8) {
          const view = new DataView(buf.buffer, buf.byteOffset + data, sized);
          const v = sized === 4 ? view.getFloat32(0) : view.getFloat64(0);
          // Firefox's MediaRecorder writes a Duration of 0 while it records: a place to write one, not a length.
          if (v > 0) {
            this.info!.hasDuration = true;
            this.durationValue = v;
          }
        } else {
          this.info!.hasDuration = true;
        }
        return next;
      }
      return pass();
    }
    if (where === ID_CLUSTER) {
      if (id === ID_CLUSTER_TIMECODE) {
        const next = value();
        if (typeof next !== 'number') return next;
        let v = 0;
        for (let i = 0; i < sized!; i++) v = v * 256 + buf[data + i]!;
        this.clusterTime = v;
        return next;
      }
      if (id === ID_SIMPLE_BLOCK) {
        if (sized === null) return 'bad';
        const head = this.blockHead(buf, data, sized);
        if (typeof head !== 'object') return head;
        this.pending = { end: end!, ...head };
        this.skip = sized - head.read;
        return data + head.read;
      }
      if (id === ID_BLOCK_GROUP) {
        if (sized === null) return 'bad';
        this.pending = { end: end!, track: null, time: null };
        return open();
      }
      if (sized === null) return 'bad';
      this.skip = sized;
      return data;
    }
    if (where === ID_BLOCK_GROUP) {
      if (id === ID_BLOCK) {
        if (sized === null) return 'bad';
        const head = this.blockHead(buf, data, sized);
        if (typeof head !== 'object') return head;
        if (this.pending) {
          this.pending.track = head.track;
          this.pending.time = head.time;
        }
        this.skip = sized - head.read;
        return data + head.read;
      }
      if (sized === null) return 'bad';
      this.skip = sized;
      return data;
    }
    return 'bad';
  }

  /** A block's track number (a vint) and time (its Cluster's Timecode plus a signed 16-bit offset). */
  private blockHead(
    buf: Uint8Array,
    data: number,
    size: number,
  ): { track: number; time: number; read: number } | 'more' | 'bad' {
    if (data >= buf.length) return 'more';
    const w = vintWidth(buf[data]!);
    if (w === 0 || w + 3 > size) return 'bad';
    if (data + w + 2 > buf.length) return 'more';
    if (this.clusterTime === null) return 'bad';
    let track = buf[data]! & (0xff >> w);
    for (let i = 1; i < w; i++) track = track * 256 + buf[data + i]!;
    const offset = (((buf[data + w]! << 8) | buf[data + w + 1]!) << 16) >> 16;
    return { track, time: this.clusterTime + offset, read: w + 2 };
  }
}
