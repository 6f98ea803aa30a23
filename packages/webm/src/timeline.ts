/**
 * The media time of a WebM stream, read from its own timestamps as
 * MediaRecorder hands it over chunk by chunk. The Duration written at stop
 * comes from here, not from the page's clock: under CPU load the page learns
 * of capture starting and of each chunk late (hundreds of ms were measured),
 * so a wall-clock duration can disagree with the frames in the file.
 *
 * A block's time is its Cluster's Timecode plus the block's signed 16-bit
 * offset, in TimecodeScale units. The end of the media is, over every track,
 * the last block's time plus that track's last frame interval (the time the
 * last frame is shown). Only element headers and the first bytes of each
 * block are read; block data is skipped, so following a stream costs almost
 * nothing. Chunk boundaries fall anywhere (Chromium's first chunk can be a
 * single byte), so an element cut by one is finished with the next chunk.
 */

const ID_EBML = 0x1a45dfa3;
const ID_SEGMENT = 0x18538067;
const ID_INFO = 0x1549a966;
const ID_TIMECODE_SCALE = 0x2ad7b1;
const ID_CLUSTER = 0x1f43b675;
const ID_CLUSTER_TIMECODE = 0xe7;
const ID_SIMPLE_BLOCK = 0xa3;
const ID_BLOCK_GROUP = 0xa0;
const ID_BLOCK = 0xa1;

/** Elements whose children are read (their size, often "unknown" for Segment and Cluster, is not needed). */
const CONTAINERS = new Set([ID_SEGMENT, ID_INFO, ID_CLUSTER, ID_BLOCK_GROUP]);

interface Header {
  id: number;
  /** Offset of the data from the element's start. */
  headerLen: number;
  /** null: unknown size. */
  size: number | null;
}

/** A variable-length integer's width from its first byte (0: invalid). */
function vintWidth(first: number): number {
  const w = Math.clz32(first) - 23;
  return w >= 1 && w <= 8 ? w : 0;
}

export class WebmTimeline {
  /** The start of an element cut off by the end of the last chunk. */
  private tail: Uint8Array = new Uint8Array(0);
  /** Bytes of block (or other skipped) data still to pass over. */
  private skip = 0;
  private started = false;
  private failed = false;
  private scale = 1_000_000;
  private clusterTime: number | null = null;
  /** Per track: the last block's time and the one before it (TimecodeScale units). */
  private tracks = new Map<number, { last: number; prev: number | null }>();

  /** False once the bytes were not WebM this reader follows; endMs is null then. */
  get ok(): boolean {
    return !this.failed;
  }

  /** The end of the media seen so far in ms, or null (no block yet, or not WebM). */
  get endMs(): number | null {
    if (this.failed || this.tracks.size === 0) return null;
    let end = 0;
    for (const { last, prev } of this.tracks.values())
      end = Math.max(end, last + (prev === null ? 0 : Math.max(0, last - prev)));
    return (end * this.scale) / 1e6;
  }

  /** Reads the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    let buf = chunk;
    if (this.tail.length > 0) {
      buf = new Uint8Array(this.tail.length + chunk.length);
      buf.set(this.tail);
      buf.set(chunk, this.tail.length);
    }
    let p = 0;
    while (p < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - p);
        p += n;
        this.skip -= n;
        continue;
      }
      const h = this.header(buf, p);
      if (h === 'more') break;
      if (h === 'bad' || (!this.started && h.id !== ID_EBML)) return this.fail();
      this.started = true;
      const data = p + h.headerLen;
      if (CONTAINERS.has(h.id)) {
        p = data;
        continue;
      }
      if (h.size === null) return this.fail();
      if (h.id === ID_CLUSTER_TIMECODE || h.id === ID_TIMECODE_SCALE) {
        if (data + h.size > buf.length) break;
        let v = 0;
        for (let i = 0; i < h.size; i++) v = v * 256 + buf[data + i]!;
        if (h.id === ID_CLUSTER_TIMECODE) this.clusterTime = v;
        else if (v > 0) this.scale = v;
      } else if (h.id === ID_SIMPLE_BLOCK || h.id === ID_BLOCK) {
        // Track number (a vint), then the time offset (int16, big-endian).
        if (data >= buf.length) break;
        const w = vintWidth(buf[data]!);
        if (w === 0 || w + 2 > h.size) return this.fail();
        if (data + w + 2 > buf.length) break;
        let track = buf[data]! & (0xff >> w);
        for (let i = 1; i < w; i++) track = track * 256 + buf[data + i]!;
        const offset = (((buf[data + w]! << 8) | buf[data + w + 1]!) << 16) >> 16;
        if (this.clusterTime === null) return this.fail();
        this.block(track, this.clusterTime + offset);
      }
      p = data;
      this.skip = h.size;
    }
    this.tail = buf.slice(p);
  }

  private block(track: number, time: number): void {
    const t = this.tracks.get(track);
    if (!t) this.tracks.set(track, { last: time, prev: null });
    else if (time >= t.last) this.tracks.set(track, { last: time, prev: t.last });
  }

  /** Stops following (the bytes could not be read): endMs is null from now on. */
  giveUp(): void {
    this.fail();
  }

  private fail(): void {
    this.failed = true;
    this.tail = new Uint8Array(0);
  }

  /** The element header at `p`: 'more' when the bytes end inside it, 'bad' when it is not EBML. */
  private header(buf: Uint8Array, p: number): Header | 'more' | 'bad' {
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
    return { id, headerLen: idWidth + sizeWidth, size: allOnes ? null : size };
  }
}
