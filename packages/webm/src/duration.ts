/**
 * A small EBML reader/writer that puts a Duration into the Info element of a
 * WebM file's first bytes. MediaRecorder writes WebM "live": the Segment has
 * unknown size and Info has no Duration, so players cannot tell the length
 * or seek. At stop the SDK knows the duration, writes it here and sends
 * part 1 again (re-sending a part number replaces it on the service).
 *
 * Only the head of the file is needed (EBML header, Segment start, Info).
 * When the Duration must be inserted, the bytes after Info move by 11: that
 * is harmless for Chromium's output (unknown-size Segment, no SeekHead, no
 * Cues), a following Void element absorbs the shift when there is one, and a
 * SeekHead or sized Segment is patched to match, or the file is left alone.
 */

const ID_EBML = 0x1a45dfa3;
const ID_SEGMENT = 0x18538067;
const ID_INFO = 0x1549a966;
const ID_TIMECODE_SCALE = 0x2ad7b1;
const ID_DURATION = 0x4489;
const ID_VOID = 0xec;
const ID_SEEK_HEAD = 0x114d9b74;
const ID_SEEK = 0x4dbb;
const ID_SEEK_POSITION = 0x53ac;
const ID_CLUSTER = 0x1f43b675;

/** Default TimecodeScale of Matroska: durations are counted in milliseconds. */
const DEFAULT_TIMECODE_SCALE = 1_000_000;

export interface EbmlElement {
  id: number;
  /** Offset of the element's ID. */
  start: number;
  /** Offset of its data. */
  dataStart: number;
  /** Data size; null when "unknown" (live streams). */
  size: number | null;
  /** Width in bytes of the size field. */
  sizeWidth: number;
}

/** Reads an element header at `pos`, or null if the bytes end first or are not EBML. */
export function readElement(buf: Uint8Array, pos: number): EbmlElement | null {
  const first = buf[pos];
  if (first === undefined || first === 0) return null;
  const idWidth = Math.clz32(first) - 23; // 1 for 0b1xxxxxxx … 4 for 0b0001xxxx
  if (idWidth < 1 || idWidth > 4 || pos + idWidth > buf.length) return null;
  let id = 0;
  for (let i = 0; i < idWidth; i++) id = id * 256 + buf[pos + i]!;
  const sp = pos + idWidth;
  const s0 = buf[sp];
  if (s0 === undefined || s0 === 0) return null;
  const sizeWidth = Math.clz32(s0) - 23;
  if (sp + sizeWidth > buf.length) return null;
  let size = s0 & (0xff >> sizeWidth);
  let allOnes = size === 0xff >> sizeWidth;
  for (let i = 1; i < sizeWidth; i++) {
    const b = buf[sp + i]!;
    size = size * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { id, start: pos, dataStart: sp + sizeWidth, size: allOnes ? null : size, sizeWidth };
}

/** An EBML size field of exactly `width` bytes, or null if `value` does not fit. */
export function encodeSize(value: number, width: number): Uint8Array | null {
  // All ones is reserved for "unknown".
  if (width < 1 || width > 8 || value >= 2 ** (7 * width) - 1) return null;
  const out = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x80 >> (width - 1);
  return out;
}

function readUint(buf: Uint8Array, start: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + buf[start + i]!;
  return v;
}

function readFloat(buf: Uint8Array, start: number, size: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset + start, size);
  return size === 4 ? view.getFloat32(0) : view.getFloat64(0);
}

interface Head {
  segment: EbmlElement;
  info: EbmlElement & { size: number };
  timecodeScale: number;
  duration: EbmlElement | null;
  seekHead: (EbmlElement & { size: number }) | null;
  /** The element right after Info, when it is a Void. */
  voidAfter: (EbmlElement & { size: number }) | null;
}

function parseHead(buf: Uint8Array): Head | null {
  const ebml = readElement(buf, 0);
  if (!ebml || ebml.id !== ID_EBML || ebml.size === null) return null;
  const segment = readElement(buf, ebml.dataStart + ebml.size);
  if (!segment || segment.id !== ID_SEGMENT) return null;
  let pos = segment.dataStart;
  let seekHead: Head['seekHead'] = null;
  for (;;) {
    const el = readElement(buf, pos);
    if (!el || el.id === ID_CLUSTER || el.size === null) return null;
    if (el.dataStart + el.size > buf.length) return null;
    if (el.id === ID_SEEK_HEAD) seekHead = { ...el, size: el.size };
    if (el.id === ID_INFO) {
      const info = { ...el, size: el.size };
      let timecodeScale = DEFAULT_TIMECODE_SCALE;
      let duration: EbmlElement | null = null;
      for (let p = info.dataStart; p < info.dataStart + info.size;) {
        const child = readElement(buf, p);
        if (!child || child.size === null) return null;
        if (child.id === ID_TIMECODE_SCALE) timecodeScale = readUint(buf, child.dataStart, child.size);
        if (child.id === ID_DURATION) duration = child;
        p = child.dataStart + child.size;
      }
      const next = readElement(buf, info.dataStart + info.size);
      const voidAfter =
        next && next.id === ID_VOID && next.size !== null && next.dataStart + next.size <= buf.length
          ? { ...next, size: next.size }
          : null;
      return { segment, info, timecodeScale, duration, seekHead, voidAfter };
    }
    pos = el.dataStart + el.size;
  }
}

/** The Duration of a WebM file in ms, from its head; null when it has none (or 0) or the bytes are not WebM. */
export function readWebmDuration(buf: Uint8Array): number | null {
  const head = parseHead(buf);
  // Only 4- and 8-byte floats are valid; anything else (0 bytes included) is not a duration to read.
  if (!head?.duration || (head.duration.size !== 4 && head.duration.size !== 8)) return null;
  const value = readFloat(buf, head.duration.dataStart, head.duration.size);
  // Firefox's MediaRecorder writes a Duration of 0 while it records: a place to write one, not a length.
  return value > 0 ? (value * head.timecodeScale) / 1e6 : null;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Returns a copy of the head `buf` with Info's Duration set to `durationMs`,
 * or null when the bytes are not a WebM head this writer understands (then
 * the file is left as it was recorded: it still plays, without a length).
 * The result may be longer than `buf` (by 11 bytes when Duration is added).
 */
export function setWebmDuration(buf: Uint8Array, durationMs: number): Uint8Array | null {
  const head = parseHead(buf);
  if (!head || !(durationMs >= 0)) return null;
  const value = (durationMs * 1e6) / head.timecodeScale;

  if (head.duration) {
    // A Duration this writer cannot overwrite in place (not a 4- or 8-byte float) is left alone:
    // inserting another would give Info two Durations.
    if (head.duration.size !== 4 && head.duration.size !== 8) return null;
    const out = buf.slice();
    const view = new DataView(out.buffer, out.byteOffset + head.duration.dataStart, head.duration.size);
    if (head.duration.size === 4) view.setFloat32(0, value);
    else view.setFloat64(0, value);
    return out;
  }

  // Duration: ID 44 89, size 0x88 (8 bytes), a float64.
  const durationEl = new Uint8Array(11);
  durationEl.set([0x44, 0x89, 0x88]);
  new DataView(durationEl.buffer).setFloat64(3, value);

  const { info } = head;
  const newInfoSize = info.size + durationEl.length;
  const infoSizeField = encodeSize(newInfoSize, info.sizeWidth) ?? encodeSize(newInfoSize, 8)!;
  const infoIdBytes = buf.subarray(info.start, info.start + (info.dataStart - info.sizeWidth - info.start));
  const infoEnd = info.dataStart + info.size;
  const newInfo = concat(infoIdBytes, infoSizeField, buf.subarray(info.dataStart, infoEnd), durationEl);
  const growth = newInfo.length - (infoEnd - info.start);

  // A Void right after Info gives up its room, so nothing after it moves.
  const v = head.voidAfter;
  if (v) {
    const voidLen = v.dataStart + v.size - v.start;
    const left = voidLen - growth;
    let filler: Uint8Array | null = left === 0 ? new Uint8Array(0) : null;
    for (let w = 1; left >= 2 && !filler && w <= 8; w++) {
      const size = encodeSize(left - 1 - w, w);
      if (size && left - 1 - w >= 0) filler = concat(Uint8Array.of(ID_VOID), size, new Uint8Array(left - 1 - w));
    }
    if (filler) return concat(buf.subarray(0, info.start), newInfo, filler, buf.subarray(v.dataStart + v.size));
  }

  // Otherwise everything after Info moves by `growth`: fix what counts offsets.
  const out = concat(buf.subarray(0, info.start), newInfo, buf.subarray(infoEnd));
  const seg = head.segment;
  if (seg.size !== null) {
    const f = encodeSize(seg.size + growth, seg.sizeWidth);
    if (!f) return null;
    out.set(f, seg.dataStart - seg.sizeWidth);
  }
  if (head.seekHead) {
    // SeekHead comes before Info (it is at the start of the Segment), so its own offsets did not move.
    const infoRel = info.start - seg.dataStart;
    const sh = head.seekHead;
    if (sh.start > info.start) return null;
    for (let p = sh.dataStart; p < sh.dataStart + sh.size;) {
      const seek = readElement(out, p);
      if (!seek || seek.size === null) return null;
      if (seek.id === ID_SEEK) {
        for (let q = seek.dataStart; q < seek.dataStart + seek.size;) {
          const c = readElement(out, q);
          if (!c || c.size === null) return null;
          if (c.id === ID_SEEK_POSITION) {
            const pos = readUint(out, c.dataStart, c.size);
            if (pos > infoRel) {
              const moved = pos + growth;
              if (moved >= 2 ** (8 * c.size)) return null;
              let x = moved;
              for (let i = c.size - 1; i >= 0; i--) {
                out[c.dataStart + i] = x % 256;
                x = Math.floor(x / 256);
              }
            }
          }
          q = c.dataStart + c.size;
        }
      }
      p = seek.dataStart + seek.size;
    }
  }
  return out;
}

/**
 * Whether a Duration a recorder wrote is a placeholder rather than its length: far shorter than the media
 * (Chromium writes 1 ms into the head when it records without a timeslice, and never rewrites it). One second
 * of slack: a real Duration and the last block's end differ by a frame or two.
 */
export function isPlaceholderDuration(writtenMs: number | null, mediaMs: number | null): boolean {
  return writtenMs !== null && mediaMs !== null && writtenMs + 1000 < mediaMs;
}
