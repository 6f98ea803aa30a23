/**
 * Time at risk from a measureLag() run (page-entry.ts): how long recorded
 * bytes were held only in the browser, or not stored yet. Shared by
 * bench/lag.ts and cadence.test.ts so both count it the same way.
 */
import type { LagResult } from './page-entry.js';

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Ages (ms) of the oldest byte past `prefixBytes(t)`, sampled every 10 ms over capture, ascending. */
export function ages(r: LagResult, prefixBytes: (t: number) => number): number[] {
  // Byte offset where each chunk starts, and when what it holds began to be recorded.
  const starts: { offset: number; end: number; since: number }[] = [];
  let offset = 0;
  let since = r.startedAt;
  for (const c of r.chunks) {
    starts.push({ offset, end: offset + c.size, since });
    offset += c.size;
    since = c.at;
  }
  const out: number[] = [];
  for (let t = r.startedAt; t <= r.stoppedAt; t += 10) {
    const have = prefixBytes(t);
    // Chunks handed over by t; the oldest byte past `have` is in the first of them that ends past it, else in MediaRecorder.
    let oldest = r.chunks.length ? r.chunks.filter((c) => c.at <= t).reduce((_, c) => c.at, r.startedAt) : r.startedAt;
    for (let i = 0; i < r.chunks.length && r.chunks[i]!.at <= t; i++) {
      if (starts[i]!.end > have) {
        oldest = starts[i]!.since;
        break;
      }
    }
    out.push(t - oldest);
  }
  return out.sort((a, b) => a - b);
}

type Put = LagResult['puts'][number];

/**
 * Bytes of the longest run of parts 1..k whose first PUT began (or ended OK)
 * by t, then of the tails 0..j of part k+1 likewise: what a finalize without
 * the browser would keep.
 */
export function prefixOf(r: LagResult, t: number, stored: boolean): number {
  const by = (p: Put) => (stored ? p.ok && p.end <= t : p.start <= t);
  const first = new Map<number, Put>();
  const tails = new Map<string, Put>();
  for (const p of r.puts) {
    if (p.tail) {
      const k = p.tail.join('-');
      if (!tails.has(k) || (!by(tails.get(k)!) && by(p))) tails.set(k, p);
    } else if (!first.has(p.part)) first.set(p.part, p);
  }
  let bytes = 0;
  let n = 1;
  for (; ; n++) {
    const p = first.get(n);
    if (!p || !by(p)) break;
    bytes += p.size;
  }
  for (let seq = 0; ; seq++) {
    const p = tails.get(`${n}-${seq}`);
    if (!p || !by(p)) return bytes;
    bytes += p.size;
  }
}

/** Held only in the browser, and not stored yet: each as ascending ages in ms. */
export function atRisk(r: LagResult): { browserOnly: number[]; notStored: number[] } {
  return { browserOnly: ages(r, (t) => prefixOf(r, t, false)), notStored: ages(r, (t) => prefixOf(r, t, true)) };
}

/**
 * A script for page.evaluate (a string: a test's compiled function may carry helpers the page lacks), run
 * before the recorder starts. It counts requestData() calls on `window.requestDataCalls`, and with `ignore`
 * makes every MediaRecorder ignore `timeslice`, as Safari 26 does for WebM (~10 s segments) and Chromium
 * for MP4 (fragment boundaries): `start(timeslice)` calls the original `start()` without one, so chunks
 * come only when asked for (requestData) or at stop.
 */
export function timesliceScript(ignore: boolean): string {
  return `(() => {
    const proto = MediaRecorder.prototype;
    window.requestDataCalls = 0;
    const request = proto.requestData;
    proto.requestData = function () { window.requestDataCalls++; return request.call(this); };
    if (${ignore}) {
      const start = proto.start;
      proto.start = function () { return start.call(this); };
    }
  })()`;
}
