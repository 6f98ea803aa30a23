import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebmScanner, type WebmScanResult } from './scanner.js';
import { setWebmDuration } from './duration.js';

/** Two seconds recorded by Chromium's MediaRecorder (packages/recorder/test/fixtures/record-fixture.ts). */
const fixture = new Uint8Array(
  readFileSync(new URL('../../recorder/test/fixtures/chromium-vp9.webm', import.meta.url)),
);

const dir = mkdtempSync(join(tmpdir(), 'webm-scanner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scan(bytes: Uint8Array, chunk = bytes.length || 1): WebmScanResult {
  const s = new WebmScanner();
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  return s.result;
}

/** What ffmpeg prints while decoding the whole file (nothing: it decodes cleanly). */
function decodeErrors(bytes: Uint8Array): string {
  const file = join(dir, `d${Math.random().toString(36).slice(2)}.webm`);
  writeFileSync(file, bytes);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  rmSync(file);
  return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? '' : ` (exit ${r.status})`);
}

/** ffprobe's packet times (ms) and the time of the last frame's end (pts + duration). */
function packets(bytes: Uint8Array): { pts: number; end: number }[] {
  const file = join(dir, 'p.webm');
  writeFileSync(file, bytes);
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time,duration_time',
    '-of',
    'csv=p=0',
    file,
  ]).toString();
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pts, dur] = l.split(',').map(Number);
      return { pts: Math.round(pts! * 1000), end: Math.round((pts! + (dur || 0)) * 1000) };
    });
}

describe('WebmScanner on the whole Chromium recording', () => {
  const whole = scan(fixture);
  const pk = packets(fixture);

  it('finds Info without a Duration, the default TimecodeScale, and nothing to cut', () => {
    expect(whole.ok).toBe(true);
    expect(whole.info).toMatchObject({ hasDuration: false, durationMs: null });
    expect(whole.info!.start).toBeGreaterThan(0);
    expect(whole.info!.end).toBeGreaterThan(whole.info!.start);
    expect(whole.timecodeScale).toBe(1_000_000);
    expect(whole.cutAt).toBe(fixture.length);
    expect(whole.blocks).toBe(pk.length);
  });

  it("gives the last frame's time plus one frame interval, as the SDK's WebmTimeline does", () => {
    const last = pk[pk.length - 1]!.pts;
    expect(whole.firstBlockMs).toBe(pk[0]!.pts);
    expect(whole.durationMs).toBe(last + (last - pk[pk.length - 2]!.pts));
  });

  it('gives the same answer whatever the chunk size, one byte at a time included', () => {
    for (const chunk of [1, 2, 3, 7, 64, 1000, 4096]) expect(scan(fixture, chunk), `chunk ${chunk}`).toEqual(whole);
  });

  it("does not count Firefox's Duration of 0 (written while it records) as one", () => {
    const zero = setWebmDuration(fixture, 0)!;
    expect(scan(zero, 100).info).toMatchObject({ hasDuration: false, durationMs: null });
    const patched = setWebmDuration(zero, 1234.5)!;
    expect(patched.length).toBe(zero.length);
    expect(scan(patched, 100).info).toMatchObject({ hasDuration: true, durationMs: 1234.5 });
  });

  it('sees a Duration once the SDK wrote one', () => {
    const patched = setWebmDuration(fixture, 1234.5)!;
    const r = scan(patched, 100);
    expect(r.info).toMatchObject({ hasDuration: true, durationMs: 1234.5 });
    expect(r.cutAt).toBe(patched.length);
    expect(r.durationMs).toBe(whole.durationMs);
  });
});

describe('WebmScanner on the recording cut anywhere', () => {
  const cuts = Array.from({ length: Math.ceil(fixture.length / 37) }, (_, i) => i * 37).concat(fixture.length - 1);

  it('never throws, never cuts past the bytes, and only ever cuts back to an element boundary it already reported', () => {
    let blocksBefore = 0;
    for (const at of cuts) {
      const part = fixture.subarray(0, at);
      let r!: WebmScanResult;
      expect(() => (r = scan(part, 11)), `cut at ${at}`).not.toThrow();
      expect(r.ok, `cut at ${at}`).toBe(true);
      expect(r.bytes).toBe(at);
      if (r.cutAt !== null) expect(r.cutAt).toBeLessThanOrEqual(at);
      // More bytes never mean fewer complete blocks.
      expect(r.blocks).toBeGreaterThanOrEqual(blocksBefore);
      blocksBefore = r.blocks;
      // Cut again at its own cut point: nothing more to cut, the same frames.
      if (r.cutAt !== null) {
        const again = scan(part.subarray(0, r.cutAt));
        expect(again.cutAt, `cut at ${at}`).toBe(r.cutAt);
        expect(again.blocks).toBe(r.blocks);
        expect(again.durationMs).toBe(r.durationMs);
      }
    }
  });

  it('cuts to a file ffmpeg decodes without a word, holding every complete frame (checked at a handful of cuts)', () => {
    const whole = scan(fixture);
    // Spread over the file, mid-block each. Not before ~0.6 s: with fewer than 10 frames ffmpeg
    // guesses 15 fps from the first frames (100 ms apart here) and its null muxer complains of
    // equal timestamps (seen with and without the Duration written); that is ffmpeg's guess, not
    // the cut, and a real recording cut short by a closed tab is seconds long.
    const some = [
      Math.floor(fixture.length * 0.33),
      Math.floor(fixture.length * 0.5) + 3,
      Math.floor(fixture.length * 0.71),
      Math.floor(fixture.length * 0.9),
      fixture.length - 5,
    ];
    for (const at of some) {
      const cut = fixture.subarray(0, at);
      // The cut-off file itself is what a closed tab leaves: ffmpeg complains about it.
      const r = scan(cut, 500);
      expect(r.cutAt, `cut at ${at}`).not.toBeNull();
      expect(r.cutAt).toBeLessThan(at);
      expect(decodeErrors(cut), `cut at ${at}: the file as uploaded`).not.toBe('');
      const repaired = cut.subarray(0, r.cutAt!);
      expect(decodeErrors(repaired), `cut at ${at}, repaired to ${r.cutAt}`).toBe('');
      const pk = packets(repaired);
      expect(pk.length).toBe(r.blocks);
      expect(r.blocks).toBeLessThan(whole.blocks);
      // With the Duration written, ffprobe reports it (MediaRecorder's own file says N/A).
      const withDuration = setWebmDuration(repaired, r.durationMs!)!;
      expect(decodeErrors(withDuration)).toBe('');
      const probed = execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'format=duration',
        '-of',
        'csv=p=0',
        writeTmp(withDuration),
      ])
        .toString()
        .trim();
      expect(Number(probed) * 1000).toBeCloseTo(r.durationMs!, 0);
    }
  }, 60_000);
});

function writeTmp(bytes: Uint8Array): string {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.webm`);
  writeFileSync(file, bytes);
  return file;
}

describe('WebmScanner on what is not WebM', () => {
  it('says not ok, and offers no cut, for bytes that are not EBML', () => {
    const junk = scan(new Uint8Array(5000).fill(7), 100);
    expect(junk.ok).toBe(false);
    expect(junk.cutAt).toBeNull();
    expect(junk.info).toBeNull();
    expect(scan(new TextEncoder().encode('not a webm file at all')).ok).toBe(false);
    const random = new Uint8Array(20_000).map((_, i) => (i * 2654435761) >>> 24);
    expect(() => scan(random, 333)).not.toThrow();
  });

  it('says not ok when garbage follows a good start, instead of cutting the garbage off', () => {
    // A repair must never drop bytes it does not understand: the caller leaves such a file alone.
    // Zeros where an element starts (an element boundary: the cut point of a prefix).
    const at = scan(fixture.subarray(0, Math.floor(fixture.length / 2))).cutAt!;
    const spoiled = new Uint8Array(fixture);
    spoiled.fill(0, at, at + 64);
    const r = scan(spoiled, 1000);
    expect(r.ok).toBe(false);
    expect(r.cutAt).toBe(at);
  });

  it('survives every byte of the head flipped (never throws)', () => {
    for (let i = 0; i < 300; i++) {
      const b = new Uint8Array(fixture.subarray(0, 2000));
      b[i] = b[i]! ^ 0xff;
      expect(() => scan(b, 13)).not.toThrow();
    }
  });
});
