import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebmTimeline } from './timeline.js';

/** Two seconds recorded by Chromium's MediaRecorder (packages/recorder/test/fixtures/record-fixture.ts). */
const fixture = new Uint8Array(
  readFileSync(new URL('../../recorder/test/fixtures/chromium-vp9.webm', import.meta.url)),
);

/** ffprobe's packet times (ms) of the first video stream. */
function packetTimesMs(bytes: Uint8Array): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'webm-timeline-'));
  try {
    const file = join(dir, 'x.webm');
    writeFileSync(file, bytes);
    const out = execFileSync('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time',
      '-of',
      'csv=p=0',
      file,
    ]).toString();
    return out
      .split('\n')
      .map((l) => l.replace(/,$/, '').trim())
      .filter(Boolean)
      .map((s) => Math.round(Number(s) * 1000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function follow(bytes: Uint8Array, cuts: number[]): WebmTimeline {
  const t = new WebmTimeline();
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    t.push(bytes.subarray(at, c));
    at = c;
  }
  return t;
}

describe('WebmTimeline on real Chromium output', () => {
  const times = packetTimesMs(fixture);
  const last = times[times.length - 1]!;
  const end = last + (last - times[times.length - 2]!);

  it('ends where ffprobe says the last frame is shown (its time plus the last frame interval)', () => {
    expect(times.length).toBeGreaterThan(10);
    expect(follow(fixture, []).endMs).toBe(end);
  });

  it('gives the same answer whatever the chunk boundaries, a 1-byte first chunk included', () => {
    // Chromium under load handed over a first chunk of one byte (the EBML ID's first byte).
    expect(follow(fixture, [1]).endMs).toBe(end);
    expect(
      follow(
        fixture,
        Array.from({ length: fixture.length - 1 }, (_, i) => i + 1),
      ).endMs,
    ).toBe(end);
    for (let seed = 1; seed <= 20; seed++) {
      const cuts = new Set<number>();
      let x = seed;
      for (let i = 0; i < 30; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        cuts.add(1 + (x % (fixture.length - 1)));
      }
      expect(
        follow(
          fixture,
          [...cuts].sort((a, b) => a - b),
        ).endMs,
        `seed ${seed}`,
      ).toBe(end);
    }
  });

  it("follows the stream as it grows: the end after a prefix is that prefix's last frame", () => {
    const half = Math.floor(fixture.length / 2);
    const t = follow(fixture.subarray(0, half), [1, 100]);
    const soFar = t.endMs!;
    expect(soFar).toBeGreaterThan(0);
    expect(soFar).toBeLessThan(end);
    t.push(fixture.subarray(half));
    expect(t.endMs).toBe(end);
  });

  it('says nothing (null) for bytes that are not WebM, or before any frame', () => {
    const junk = follow(new Uint8Array(1000).fill(7), [10]);
    expect(junk.ok).toBe(false);
    expect(junk.endMs).toBeNull();
    const headOnly = follow(fixture.subarray(0, 40), []);
    expect(headOnly.ok).toBe(true);
    expect(headOnly.endMs).toBeNull();
  });
});
